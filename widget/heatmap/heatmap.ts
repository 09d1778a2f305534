/**
 * `<barrage-heatmap video="id" for="player-id">`: the density of a video's
 * danmaku drawn over a progress bar (a filled curve, as Bilibili shows it),
 * with the played part brighter and a click seeking the player there. Part
 * of the replay chunk (see heatmap-element.ts).
 *
 * Attributes: `video`, `for` (the media element's id), `server` (as the
 * overlay's), `buckets` (default 200). CSS: `color` is the curve's colour.
 */
import { defaultServerUrl } from '../connection.js';

/** Fetches the density and draws it into `host`, following its player. */
export function attachHeatmap(host: HTMLElement): () => void {
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  root.innerHTML =
    '<style>:host{display:block;height:32px;cursor:pointer;color:#00a1d6}canvas{width:100%;height:100%;display:block}</style><canvas part="canvas"></canvas>';
  const canvas = root.querySelector('canvas') as HTMLCanvasElement;
  const media = document.getElementById(host.getAttribute('for') ?? '') as HTMLMediaElement | null;
  const video = host.getAttribute('video') ?? '';
  const buckets = Math.min(2000, Math.max(1, Number(host.getAttribute('buckets')) || 200));
  const origin = new URL((host.getAttribute('server') || defaultServerUrl()).replace(/^ws/, 'http'), location.href).origin;
  let counts: number[] = [];
  let durationMs = 0;
  let raf = 0;

  const draw = (): void => {
    raf = 0;
    const w = (canvas.width = Math.max(1, Math.round(canvas.clientWidth * devicePixelRatio)));
    const h = (canvas.height = Math.max(1, Math.round(canvas.clientHeight * devicePixelRatio)));
    const g = canvas.getContext('2d');
    if (!g || counts.length === 0) return;
    const max = Math.max(1, ...counts);
    const path = new Path2D();
    path.moveTo(0, h);
    counts.forEach((c, i) => path.lineTo(((i + 0.5) / counts.length) * w, h - (c / max) * h * 0.95));
    path.lineTo(w, h);
    path.closePath();
    const color = getComputedStyle(host).color;
    g.fillStyle = color;
    g.globalAlpha = 0.35;
    g.fill(path);
    const played = media && durationMs ? Math.min(1, (media.currentTime * 1000) / durationMs) * w : 0;
    g.save();
    g.beginPath();
    g.rect(0, 0, played, h);
    g.clip();
    g.globalAlpha = 0.9;
    g.fill(path);
    g.restore();
  };
  const redraw = (): void => {
    if (raf === 0) raf = requestAnimationFrame(draw);
  };
  const seek = (e: MouseEvent): void => {
    if (!media || !durationMs) return;
    const r = host.getBoundingClientRect();
    media.currentTime = (Math.max(0, Math.min(1, (e.clientX - r.left) / r.width)) * durationMs) / 1000;
  };
  host.addEventListener('click', seek);
  media?.addEventListener('timeupdate', redraw);
  const resize = new ResizeObserver(redraw);
  resize.observe(host);
  fetch(`${origin}/api/v1/videos/${encodeURIComponent(video)}/danmaku/density?buckets=${buckets}`)
    .then((res) => (res.ok ? (res.json() as Promise<{ counts: number[]; duration_ms: number }>) : undefined))
    .then((body) => {
      if (!body) return;
      counts = body.counts;
      durationMs = body.duration_ms;
      host.dispatchEvent(new CustomEvent('barrage-heatmap-ready', { detail: { counts } }));
      redraw();
    })
    .catch(() => undefined);
  return () => {
    host.removeEventListener('click', seek);
    media?.removeEventListener('timeupdate', redraw);
    resize.disconnect();
    cancelAnimationFrame(raf);
  };
}
