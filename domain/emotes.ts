/**
 * The emote catalogue (`BARRAGE_EMOTES_FILE`): each emote's code as viewers
 * type it (`[doge]`), the image the widget draws for it and its size, and
 * the check of a catalogue file. Emote-only rooms admit text made of these
 * codes and spaces only (`isEmoteOnly`, also for the plain codes of
 * `BARRAGE_EMOTES`).
 */
import { ConfigError } from './errors.js';

/** One emote. */
export interface EmoteDef {
  /** What viewers type, 1 to 32 characters without spaces: `[doge]`, `:wave:`. */
  code: string;
  /** The image: an http(s) URL or a path on this server starting with `/`. */
  url: string;
  /** Drawn size in CSS pixels (8 to 512). */
  width: number;
  height: number;
  /** Text for screen readers and copies; the code when absent. */
  name: string;
}

/** Most emotes a catalogue may hold (each edge checks emote-only text against all of them). */
export const maxEmotes = 2_000;
const codePattern = /^\S{1,32}$/u;
const urlPattern = /^(https?:\/\/|\/)\S+$/;

function sizeIn(value: unknown, at: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 8 || value > 512) {
    throw new ConfigError(`${at} must be an integer from 8 to 512, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Checks a catalogue file's content (`{ "emotes": [{ "code", "url", "width", "height"?, "name"? }] }`);
 * throws `ConfigError` naming the entry and field that is wrong.
 */
export function validateEmotes(parsed: unknown, where: string): EmoteDef[] {
  const list =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>)['emotes'] : undefined;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${where}: must be a JSON object with a non-empty "emotes" array`);
  if (list.length > maxEmotes) throw new ConfigError(`${where}: at most ${maxEmotes} emotes, got ${list.length}`);
  const seen = new Set<string>();
  return list.map((raw: unknown, i) => {
    const at = `${where}: emotes[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new ConfigError(`${at} must be an object`);
    const o = raw as Record<string, unknown>;
    const code = o['code'];
    if (typeof code !== 'string' || !codePattern.test(code)) throw new ConfigError(`${at}.code must be 1 to 32 characters without spaces`);
    if (seen.has(code)) throw new ConfigError(`${at}.code "${code}" appears twice`);
    seen.add(code);
    const url = o['url'];
    if (typeof url !== 'string' || url.length > 2048 || !urlPattern.test(url)) {
      throw new ConfigError(`${at}.url must be an http(s) URL or a path starting with / (at most 2,048 characters)`);
    }
    const width = sizeIn(o['width'], `${at}.width`);
    const height = o['height'] === undefined ? width : sizeIn(o['height'], `${at}.height`);
    const name = o['name'] === undefined ? code : o['name'];
    if (typeof name !== 'string' || name.length === 0 || name.length > 64) throw new ConfigError(`${at}.name must be 1 to 64 characters`);
    return { code, url, width, height, name };
  });
}

/** Codes by their first code unit, longest first, per list of codes (compiled once per list). */
const compiled = new WeakMap<readonly string[], Map<string, string[]>>();

function byFirst(emotes: readonly string[]): Map<string, string[]> {
  let map = compiled.get(emotes);
  if (!map) {
    map = new Map();
    for (const code of [...emotes].sort((a, b) => b.length - a.length)) {
      if (code === '') continue;
      const first = code.charAt(0);
      const list = map.get(first);
      if (list) list.push(code);
      else map.set(first, [code]);
    }
    compiled.set(emotes, map);
  }
  return map;
}

/**
 * True when `text` is only emote codes and spaces (and has at least one
 * code). Every way of reading the text as codes counts (`[a][b]`, codes that
 * are prefixes of others), in time linear in the text times the codes
 * sharing a first character: it runs on every danmaku of an emote-only room.
 */
export function isEmoteOnly(text: string, emotes: readonly string[]): boolean {
  const map = byFirst(emotes);
  const n = text.length;
  const reachable = new Uint8Array(n + 1);
  reachable[0] = 1;
  let codes = 0;
  for (let i = 0; i < n; i++) {
    if (!reachable[i]) continue;
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      reachable[i + 1] = 1;
      continue;
    }
    for (const code of map.get(c) ?? []) {
      if (text.startsWith(code, i)) {
        reachable[i + code.length] = 1;
        codes++;
      }
    }
  }
  return reachable[n] === 1 && codes > 0;
}
