/**
 * Image emotes: the server's catalogue (`GET /api/v1/emotes`, public, from
 * `BARRAGE_EMOTES_FILE`) fetched once per server, and viewer text cut into
 * text and emotes for the chat and the overlay. An emote is drawn as an
 * `<img>` whose `alt` is its name, so copying or reading the line still gives
 * words. A server without the route, or without emotes, gives an empty set:
 * text stays text.
 */

/** One emote of the catalogue. */
export interface Emote {
  code: string;
  url: string;
  width: number;
  height: number;
  name: string;
}

/** Longest code the server accepts (domain/emotes.ts); longer entries are not emotes. */
const maxCode = 32;

/** A catalogue, compiled for cutting text. */
export class EmoteSet {
  private readonly byCode = new Map<string, Emote>();
  private readonly pattern: RegExp | undefined;

  constructor(list: readonly Emote[]) {
    for (const e of list) if (e.code.length > 0 && e.code.length <= maxCode) this.byCode.set(e.code, e);
    // Longest first, so `[doge2]` wins over `[doge]`; one alternation, compiled once per catalogue.
    const codes = [...this.byCode.keys()].sort((a, b) => b.length - a.length);
    this.pattern = codes.length > 0 ? new RegExp(codes.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu') : undefined;
  }

  /** Whether there are no emotes (most rooms): callers skip the cutting. */
  get empty(): boolean {
    return this.pattern === undefined;
  }

  /** `text` as runs of text and emotes, in order; one run of text when it has no code. */
  parts(text: string): Array<string | Emote> {
    const p = this.pattern;
    if (!p) return [text];
    const out: Array<string | Emote> = [];
    let last = 0;
    p.lastIndex = 0;
    for (let m = p.exec(text); m; m = p.exec(text)) {
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(this.byCode.get(m[0]) as Emote);
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }
}

/** An `<img>` for an emote, `px` high (its width kept in proportion). */
export function emoteImage(e: Emote, px: number): HTMLImageElement {
  const img = document.createElement('img');
  img.className = 'emote';
  img.src = e.url;
  img.alt = e.name;
  img.title = e.name;
  img.height = px;
  img.width = Math.round((px * (e.width || px)) / (e.height || px));
  img.draggable = false;
  return img;
}

const empty = new EmoteSet([]);
const loaded = new Map<string, Promise<EmoteSet>>();

/** Reads a catalogue answer, keeping only well-formed entries (a bad entry is skipped, never thrown). */
export function parseEmotes(body: unknown, base: string): EmoteSet {
  const list = (body as { emotes?: unknown } | null)?.emotes;
  if (!Array.isArray(list)) return empty;
  const out: Emote[] = [];
  for (const item of list as unknown[]) {
    const o = (item ?? {}) as Record<string, unknown>;
    if (typeof o['code'] !== 'string' || typeof o['url'] !== 'string') continue;
    let url: URL;
    try {
      url = new URL(o['url'], base);
    } catch {
      continue;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') continue; // never javascript: or data:
    const n = (v: unknown) => (typeof v === 'number' && v > 0 && v <= 1024 ? v : 0);
    out.push({
      code: o['code'],
      url: url.href,
      width: n(o['width']),
      height: n(o['height']),
      name: typeof o['name'] === 'string' ? o['name'] : o['code'],
    });
  }
  return new EmoteSet(out);
}

/** The catalogue of the server a WebSocket URL points at (`ws://host/ws` → `http://host/api/v1/emotes`), fetched once. */
export function loadEmotes(wsUrl: string): Promise<EmoteSet> {
  let base: string;
  try {
    const u = new URL(wsUrl);
    base = `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}/`;
  } catch {
    return Promise.resolve(empty);
  }
  let p = loaded.get(base);
  if (!p) {
    p = fetch(new URL('api/v1/emotes', base))
      .then((res) => (res.ok ? res.json() : undefined))
      .then((body) => parseEmotes(body, base))
      .catch(() => empty);
    loaded.set(base, p);
  }
  return p;
}
