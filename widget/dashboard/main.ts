/**
 * The analytics dashboard (`/dashboard`): one room over a time range, read
 * from the analytics API with the operator's API key, drawn with uPlot.
 *
 * Strings come from ./messages.ts in the language of `?lang=`, else the
 * browser's (widget/i18n/i18n.ts picks it); numbers, money (`?currency=`,
 * USD unless given) and dates go through `Intl` in that language.
 *
 * State lives in the URL (`?room=&from=&to=`) so a view can be shared; the
 * key is taken from `#key=` once (then removed from the address bar) or from
 * localStorage, never put in the query string.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { Translator, format, pickLang } from '../i18n/i18n.js';
import { dashboardMessages } from './messages.js';
import type { DashboardKey } from './messages.js';
import type { PlayPoint, PlayStats, PlaySummary as Play } from '../../domain/play-stats.js';
import type { Gifter, RoomStats as Stats, TimelinePoint as Point, WordCount as Word } from '../../domain/room-stats.js';

const playKinds: Readonly<Record<Play['kind'], DashboardKey>> = { red_packet: 'redPacket', poll: 'poll', lottery: 'lottery' };

const $ = <T extends Element>(sel: string): T => document.querySelector(sel) as T;
const form = $<HTMLFormElement>('#controls');
const status = $<HTMLParagraphElement>('#status');
const charts: uPlot[] = [];

const query = new URLSearchParams(location.search);
const lang = pickLang(query.get('lang'), ...(navigator.languages ?? [navigator.language]));
const tr = new Translator(lang);
const currency = /^[A-Z]{3}$/.test(query.get('currency') ?? '') ? (query.get('currency') as string) : 'USD';
/** A dashboard string in the page's language. */
const t = (key: DashboardKey, vars?: Readonly<Record<string, string | number>>): string => format(dashboardMessages[lang][key], vars);
const money = (cents: number): string => tr.money(cents, currency);
const count = (n: number): string => tr.number(n);
const latency = (ms: number): string =>
  ms < 10_000 ? t('milliseconds', { n: count(ms) }) : t('seconds', { n: count(Math.round(ms / 1000)) });

/** Puts the page's own strings (elements marked `data-i18n`) into the chosen language. */
function translatePage(): void {
  document.documentElement.lang = lang;
  document.title = t('title');
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(el.dataset['i18n'] as DashboardKey);
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n-label]'))
    el.setAttribute('aria-label', t(el.dataset['i18nLabel'] as DashboardKey));
}
const localInput = (ms: number): string => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

function readKey(): string {
  const hash = new URLSearchParams(location.hash.slice(1));
  const key = hash.get('key');
  if (key) {
    localStorage.setItem('barrage-api-key', key);
    history.replaceState(null, '', location.pathname + location.search);
    return key;
  }
  // In development the server hands a visitor on its own machine the development key (never in production).
  const dev = document.querySelector<HTMLMetaElement>('meta[name="barrage-dev-key"]')?.content;
  return localStorage.getItem('barrage-api-key') ?? dev ?? '';
}

async function api<T>(path: string, key: string): Promise<T> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${key}` } });
  const body = (await res.json()) as T & { error?: { message: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function card(label: string, value: string, id: string): string {
  return `<div class="card" data-metric="${id}"><span class="label">${label}</span><span class="value">${value}</span></div>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function width(el: HTMLElement): number {
  return Math.max(280, el.clientWidth || 480);
}

/**
 * True when a value has no value beside it (a single minute of data, or one
 * between gaps): a line needs two points, so such a value is drawn as a dot.
 */
function hasIsolated(values: ReadonlyArray<number | null>): boolean {
  return values.some((v, i) => v !== null && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null);
}

/** The x range of a time chart: one minute either side of a single point (uPlot cannot scale an empty span). */
const xRange = (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => (min === max ? [min - 60, max + 60] : [min, max]);

/** A time chart of one or more series over minutes. */
function timeChart(
  el: HTMLElement,
  x: number[],
  series: Array<{ label: string; values: Array<number | null>; color: string; bars?: boolean }>,
): void {
  const bars = uPlot.paths.bars?.({ size: [0.8, 40] });
  charts.push(
    new uPlot(
      {
        width: width(el),
        height: 200,
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true, range: xRange } },
        series: [
          { label: t('time'), value: (_u: uPlot, v: number | null) => (v === null ? '--' : tr.dateTime(v * 1000)) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            fill: s.bars ? s.color + '99' : s.color + '22',
            width: s.bars ? 0 : 2,
            ...(s.bars && bars
              ? { paths: bars, points: { show: false } }
              : hasIsolated(s.values)
                ? { points: { show: true, size: 7, fill: s.color } }
                : {}),
          })),
        ],
        axes: [{ values: (_u: uPlot, splits: number[]) => splits.map((v) => tr.time(v * 1000)) }, { size: 60 }],
      },
      [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    ),
  );
}

/** A bar chart of labelled values (top words). */
function barChart(el: HTMLElement, labels: string[], values: number[], color: string): void {
  const bars = uPlot.paths.bars?.({ size: [0.7, 60] });
  charts.push(
    new uPlot(
      {
        width: width(el),
        height: 200,
        legend: { show: false },
        scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] } },
        series: [
          {},
          { label: 'count', stroke: color, fill: color + 'aa', width: 0, ...(bars ? { paths: bars } : {}), points: { show: false } },
        ],
        axes: [{ values: (_u, splits) => splits.map((i) => labels[i] ?? ''), incrs: [1], rotate: 0 } as uPlot.Axis, { size: 50 }],
      },
      [labels.map((_, i) => i), values],
      el,
    ),
  );
}

async function load(room: string, from: number, to: number, key: string): Promise<void> {
  document.body.dataset['state'] = 'loading';
  status.textContent = t('loading', { room });
  const q = `from=${from}&to=${to}`;
  const base = `/api/v1/rooms/${encodeURIComponent(room)}`;
  try {
    const [stats, timeline, gifters, words, plays] = await Promise.all([
      api<Stats>(`${base}/stats?${q}`, key),
      api<{ points: Point[] }>(`${base}/timeline?${q}`, key),
      api<{ gifters: Gifter[] }>(`${base}/top-gifters?${q}&limit=10`, key),
      api<{ words: Word[] }>(`${base}/top-words?${q}&limit=15`, key),
      api<PlayStats>(`${base}/play-stats?${q}`, key),
    ]);
    for (const c of charts.splice(0)) c.destroy();

    $('#totals').innerHTML = [
      card(t('messages'), count(stats.messages), 'messages'),
      card(t('peakOnline'), count(stats.peakOnline), 'peak-online'),
      card(t('averageOnline'), count(stats.avgOnline), 'avg-online'),
      card(t('gifts'), count(stats.gifts), 'gifts'),
      card(t('revenue'), money(stats.revenueCents), 'revenue'),
      card(t('likes'), count(stats.likes), 'likes'),
      card(t('chatters'), count(stats.chatters), 'chatters'),
      card(t('gifters'), count(stats.gifters), 'gifters'),
      card(t('moderation'), count(stats.moderationActions), 'moderation'),
      card(t('averageLatency'), latency(stats.avgLatencyMs), 'latency'),
      card(t('playsStarted'), count(plays.started), 'plays-started'),
      card(t('grabs'), count(plays.grabs), 'grabs'),
      card(t('votes'), count(plays.votes), 'votes'),
      card(t('entries'), count(plays.entries), 'entries'),
    ].join('');

    // One point per minute of the range (zero for a quiet minute) when that is few enough to draw.
    const byMinute = new Map(timeline.points.map((p) => [p.minute, p]));
    const first = Math.floor(from / 60_000) * 60;
    const last = Math.ceil(to / 60_000) * 60;
    const x = (last - first) / 60 <= 2_000 ? Array.from({ length: (last - first) / 60 }, (_, i) => first + i * 60) : [...byMinute.keys()];
    const col = (f: (p: Point) => number | null, gap: number | null): Array<number | null> =>
      x.map((m) => {
        const p = byMinute.get(m);
        return p ? f(p) : gap;
      });
    timeChart($('#chart-messages'), x, [{ label: t('messages'), values: col((p) => p.messages, 0), color: '#2563eb' }]);
    timeChart($('#chart-online'), x, [
      { label: t('peak'), values: col((p) => p.onlineMax || null, null), color: '#16a34a' },
      { label: t('average'), values: col((p) => p.onlineAvg || null, null), color: '#84cc16' },
    ]);
    timeChart($('#chart-gifts'), x, [{ label: t('gifts'), values: col((p) => p.gifts, 0), color: '#db2777', bars: true }]);
    timeChart($('#chart-revenue'), x, [
      { label: `${t('revenue')} (${currency})`, values: col((p) => p.revenueCents / 100, 0), color: '#ea580c', bars: true },
    ]);
    barChart(
      $('#chart-words'),
      words.words.slice(0, 8).map((w) => w.word),
      words.words.slice(0, 8).map((w) => w.count),
      '#7c3aed',
    );

    const playsAt = new Map(plays.points.map((p) => [p.minute, p]));
    const playCol = (f: (p: PlayPoint) => number): number[] =>
      x.map((m) => f(playsAt.get(m) ?? { minute: m, grabs: 0, votes: 0, entries: 0 }));
    timeChart($('#chart-plays'), x, [
      { label: t('grabs'), values: playCol((p) => p.grabs), color: '#dc2626', bars: true },
      { label: t('votes'), values: playCol((p) => p.votes), color: '#0891b2' },
      { label: t('entries'), values: playCol((p) => p.entries), color: '#ca8a04' },
    ]);
    $('#plays tbody').innerHTML = plays.plays
      .map(
        (p) =>
          `<tr data-kind="${p.kind}"><td>${t(playKinds[p.kind])}: ${escapeHtml(p.title || p.id)}</td><td>${escapeHtml(p.by)}</td>` +
          `<td>${p.startedMs ? tr.dateTime(p.startedMs) : ''}</td><td>${count(p.taken)}${p.endedMs ? '' : ` (${t('stillOpen')})`}</td></tr>`,
      )
      .join('');

    $('#top-gifters tbody').innerHTML = gifters.gifters
      .map(
        (g, i) =>
          `<tr><td>${i + 1}</td><td>${escapeHtml(g.name || g.userId)}</td><td>${count(g.gifts)}</td><td>${money(g.revenueCents)}</td></tr>`,
      )
      .join('');
    $('#top-words tbody').innerHTML = words.words.map((w) => `<tr><td>${escapeHtml(w.word)}</td><td>${count(w.count)}</td></tr>`).join('');
    status.textContent = t('loaded', { room, events: count(stats.events), from: tr.dateTime(from), to: tr.dateTime(to) });
    document.body.dataset['state'] = 'ready';
  } catch (err) {
    status.textContent = t('failed', { room, error: (err as Error).message });
    document.body.dataset['state'] = 'error';
  }
}

function start(): void {
  translatePage();
  const params = query;
  const key = readKey();
  const now = Date.now();
  const to = Number(params.get('to')) || now;
  const from = Number(params.get('from')) || to - 3600_000;
  const room = params.get('room') ?? 'demo';
  (form.elements.namedItem('room') as HTMLInputElement).value = room;
  (form.elements.namedItem('from') as HTMLInputElement).value = localInput(from);
  (form.elements.namedItem('to') as HTMLInputElement).value = localInput(to);
  (form.elements.namedItem('key') as HTMLInputElement).value = key;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const r = String(data.get('room'));
    const f = new Date(String(data.get('from'))).getTime();
    const t = new Date(String(data.get('to'))).getTime();
    const k = String(data.get('key'));
    localStorage.setItem('barrage-api-key', k);
    history.replaceState(null, '', `?room=${encodeURIComponent(r)}&from=${f}&to=${t}`);
    void load(r, f, t, k);
  });
  void load(room, from, to, key);
}

start();
