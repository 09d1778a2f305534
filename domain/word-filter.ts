/**
 * The word filter: blocked terms and patterns matched against a normalised
 * form of the text, so that width, case and the common evasions do not get a
 * term through.
 *
 * Normalisation, one original code point at a time (so every match maps back
 * to the original text for "replace with *"):
 * - NFKC (full-width `ｆｕｃｋ`, ligatures, circled letters), lower case, Latin
 *   diacritics dropped (`fück`), a few Cyrillic/Greek look-alikes mapped to Latin;
 * - zero-width characters, soft hyphens and variation selectors are ignored;
 * - spaces, punctuation and symbols are dropped but remembered as word
 *   boundaries, so `f u c k` and `f.u.c.k` read as `fuck`;
 * - leetspeak inside words that have a letter: digits (`4ss`, `sh1t`), `@` and
 *   `$` always, `!`, `|` and `+` only when a letter or digit follows (so
 *   `shit!` is not `shiti`); a number alone (`455`) is left a number.
 *
 * Terms are found with one Aho–Corasick automaton over the normalised code
 * points, so the cost per message does not grow with the number of terms.
 * A Latin term matches a whole word (`ass` does not match `class` or
 * `assistant`) unless written `term*` (prefix) or `*term*` (anywhere); a term
 * with CJK or Hangul characters matches anywhere, as those scripts do not
 * separate words with spaces.
 *
 * Patterns are RE2 regular expressions over the normalised text, run by
 * re2js (a port of RE2): matching takes time linear in the text whatever the
 * pattern (a backtracking engine stalls the event loop on `(a+)+$` and a
 * text any viewer can send). RE2 has no lookaround or backreferences;
 * patterns it cannot compile are refused. A pattern's cost per character is
 * its compiled size, so each may compile to at most `maxPatternProgram`
 * instructions and one filter's patterns to `maxFilterProgram` together.
 *
 * A large filter takes a while to compile (20,000 terms: about half a
 * second); `WordFilter.build` compiles it in slices of a few milliseconds,
 * yielding to the event loop between them, so the edge keeps serving.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { RE2JS } from 're2js';

/** Most RE2 instructions one pattern may compile to (`[a-z]{1,240}` is about 480). */
export const maxPatternProgram = 500;
/** Most RE2 instructions one filter's patterns may compile to together: their cost per danmaku character. */
export const maxFilterProgram = 10_000;
/** Longest slice of compiling `WordFilter.build` runs before it yields to the event loop. */
const buildSliceMs = 4;

/** One compiled term. */
interface Term {
  /** The term as configured, reported as what matched. */
  source: string;
  length: number;
  anyStart: boolean;
  anyEnd: boolean;
}

/** A normalised text: code points, and where each came from in the original. */
export interface Normalized {
  /** Normalised code points. */
  cps: number[];
  /** UTF-16 start (inclusive) and end (exclusive) of each code point's origin. */
  from: number[];
  to: number[];
  /** True where a word starts (after a boundary, at a script change, or at 0). */
  start: boolean[];
}

/** What a filter found. */
export interface FilterMatch {
  /** The term or pattern that matched first. */
  matched: string;
  /** UTF-16 ranges of the original text to mask, [from, to) pairs. */
  ranges: Array<[number, number]>;
}

const leetDigits: Record<number, number> = { 48: 111, 49: 105, 51: 101, 52: 97, 53: 115, 55: 116, 56: 98, 57: 103 }; // 0o 1i 3e 4a 5s 7t 8b 9g
const leetAlways: Record<number, number> = { 64: 97, 36: 115 }; // @a $s
const leetBetween: Record<number, number> = { 33: 105, 124: 108, 43: 116 }; // !i |l +t
/** Cyrillic and Greek letters that look like Latin ones. */
const confusables: Record<number, number> = {
  0x0430: 97, // а
  0x0435: 101, // е
  0x043e: 111, // о
  0x0440: 112, // р
  0x0441: 99, // с
  0x0445: 120, // х
  0x0443: 121, // у
  0x0456: 105, // і
  0x0455: 115, // ѕ
  0x03bf: 111, // ο
  0x03b1: 97, // α
};

const isIgnorable = (cp: number): boolean =>
  (cp >= 0x200b && cp <= 0x200f) || cp === 0x2060 || cp === 0xfeff || cp === 0x00ad || (cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0x034f;

const isSpace = (cp: number): boolean => cp === 32 || cp === 9 || cp === 0x3000 || cp === 0xa0 || (cp >= 0x2000 && cp <= 0x200a);

/** CJK ideographs, kana, Hangul: scripts written without spaces between words. */
export function isCjk(cp: number): boolean {
  return (
    (cp >= 0x2e80 && cp <= 0x9fff) ||
    (cp >= 0xac00 && cp <= 0xd7af) ||
    (cp >= 0x1100 && cp <= 0x11ff) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xff66 && cp <= 0xff9f) ||
    (cp >= 0x20000 && cp <= 0x3134f)
  );
}

const letterOrDigit = /[\p{L}\p{N}]/u;
const mark = /\p{M}/u;

/** Is `cp` (already lower-cased ASCII, or anything) a letter or digit? */
function isAlnum(cp: number): boolean {
  if (cp < 128) return (cp >= 97 && cp <= 122) || (cp >= 65 && cp <= 90) || (cp >= 48 && cp <= 57);
  return letterOrDigit.test(String.fromCodePoint(cp));
}

/** Maps one non-ASCII code point to its normalised code points (maybe none). */
function foldNonAscii(cp: number): number[] {
  const conf = confusables[cp];
  if (conf !== undefined) return [conf];
  const out: number[] = [];
  const nfkc = String.fromCodePoint(cp).normalize('NFKC').toLowerCase();
  for (const ch of nfkc) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x250) {
      // Latin: drop diacritics (NFKD, then no marks).
      for (const d of ch.normalize('NFKD')) if (!mark.test(d)) out.push(d.codePointAt(0) as number);
    } else if (!mark.test(ch)) {
      out.push(confusables[c] ?? c);
    }
  }
  return out;
}

/** Normalises `text`; see the file comment. */
export function normalize(text: string): Normalized {
  const cps: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  const start: boolean[] = [];
  // Per whitespace-delimited token: does it hold a letter (so digits and symbols may be leet)?
  let tokenHasLetter = false;
  let tokenEnd = -1;
  let boundary = true;
  let lastCjk = false;
  const n = text.length;
  for (let i = 0; i < n;) {
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    if (i >= tokenEnd) {
      // Scan the token that starts here once.
      tokenHasLetter = false;
      let j = i;
      while (j < n) {
        const c = text.codePointAt(j) as number;
        if (isSpace(c)) break;
        if (!tokenHasLetter && ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c > 127 && /\p{L}/u.test(String.fromCodePoint(c)))))
          tokenHasLetter = true;
        j += c > 0xffff ? 2 : 1;
      }
      tokenEnd = Math.max(j, i + width);
    }
    let mapped: number | number[] | undefined;
    if (cp < 128) {
      if (cp >= 65 && cp <= 90) mapped = cp + 32;
      else if (cp >= 97 && cp <= 122) mapped = cp;
      else if (cp >= 48 && cp <= 57) mapped = tokenHasLetter ? (leetDigits[cp] ?? cp) : cp;
      else if (tokenHasLetter && leetAlways[cp] !== undefined) mapped = leetAlways[cp];
      else if (tokenHasLetter && leetBetween[cp] !== undefined && i + 1 < tokenEnd && isAlnum(text.codePointAt(i + 1) as number))
        mapped = leetBetween[cp];
    } else if (isIgnorable(cp)) {
      i += width;
      continue;
    } else if (!isSpace(cp)) {
      const folded = foldNonAscii(cp);
      const kept = folded.filter(isAlnum);
      if (kept.length > 0) mapped = kept;
    }
    if (mapped === undefined) {
      boundary = true;
      i += width;
      continue;
    }
    for (const c of typeof mapped === 'number' ? [mapped] : mapped) {
      const cjk = isCjk(c);
      start.push(boundary || cjk !== lastCjk || cjk);
      cps.push(c);
      from.push(i);
      to.push(i + width);
      boundary = false;
      lastCjk = cjk;
    }
    i += width;
  }
  return { cps, from, to, start };
}

/** A pattern RE2 refused, or one too costly to run on every danmaku. */
export class PatternError extends Error {
  override readonly name = 'PatternError';
  constructor(
    readonly pattern: string,
    message: string,
  ) {
    super(message);
  }
}

/** Compiles one pattern, or throws `PatternError` saying why it cannot be used. */
function compilePattern(source: string): { source: string; re: RE2JS; size: number } {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    throw new PatternError(source, `${JSON.stringify(source)} is not an RE2 pattern: ${(err as Error).message}`);
  }
  const size = Number(re.re2().numberOfInstructions());
  if (size > maxPatternProgram) {
    throw new PatternError(
      source,
      `${JSON.stringify(source)} compiles to ${size} instructions, more than ${maxPatternProgram}: use smaller repeat counts`,
    );
  }
  return { source, re, size };
}

/**
 * Why `patterns` cannot be a filter's patterns, or undefined when they can:
 * RE2's reason for the first it refuses, or the one too large, or the set too
 * large together. What the API answers a PUT with. Compiling a pattern takes
 * up to a millisecond or two, so the event loop is served every few.
 */
export async function patternsProblem(patterns: readonly string[]): Promise<string | undefined> {
  let total = 0;
  let slice = performance.now();
  for (const source of patterns) {
    try {
      total += compilePattern(source).size;
    } catch (err) {
      return (err as Error).message;
    }
    if (performance.now() - slice > buildSliceMs) {
      await yieldToLoop();
      slice = performance.now();
    }
  }
  if (total > maxFilterProgram) return `the patterns compile to ${total} instructions together, more than ${maxFilterProgram}`;
  return undefined;
}

/** Blocked terms and patterns, compiled once, matched in time linear in the text. */
export class WordFilter {
  private readonly terms: Term[] = [];
  /** Trie edges per node. */
  private readonly next: Array<Map<number, number>> = [new Map()];
  private readonly fail: number[] = [0];
  /** Terms ending at a node (its own), and the nearest suffix node that has some. */
  private readonly outputs: Array<number[] | undefined> = [undefined];
  private readonly dict: number[] = [-1];
  private readonly patterns: Array<{ source: string; re: RE2JS }> = [];

  /**
   * Compiles `terms` ("word", "word*", "*word*") and `patterns` (RE2) at once;
   * a pattern that cannot be used throws `PatternError`. For large filters
   * on a serving process use `WordFilter.build`.
   */
  constructor(terms: readonly string[], patterns: readonly string[] = []) {
    const steps = this.compile(terms, patterns);
    while (!steps.next().done);
  }

  /**
   * Compiles like the constructor, in slices of a few milliseconds with the
   * event loop served between them, so a 20,000-term filter does not stall
   * the process that compiles it. Rejects with `PatternError` like it.
   */
  static async build(terms: readonly string[], patterns: readonly string[] = []): Promise<WordFilter> {
    const filter = new WordFilter([]);
    const steps = filter.compile(terms, patterns);
    for (;;) {
      const start = performance.now();
      let step = steps.next();
      while (!step.done && performance.now() - start < buildSliceMs) step = steps.next();
      if (step.done) return filter;
      await yieldToLoop();
    }
  }

  /** The compiling, as steps small enough to stop between (a few hundred terms, or one pattern). */
  private *compile(terms: readonly string[], patterns: readonly string[]): Generator<void, void, undefined> {
    for (let i = 0; i < terms.length; i++) {
      this.addTerm(terms[i] as string);
      if (i % 128 === 127) yield;
    }
    yield* this.link();
    let total = 0;
    for (const source of patterns) {
      const compiled = compilePattern(source);
      total += compiled.size;
      if (total > maxFilterProgram)
        throw new PatternError(source, `the patterns compile to more than ${maxFilterProgram} instructions together`);
      this.patterns.push({ source: compiled.source, re: compiled.re });
      yield;
    }
  }

  /** True when there is nothing to match. */
  get empty(): boolean {
    return this.terms.length === 0 && this.patterns.length === 0;
  }

  /** Number of terms compiled. */
  get size(): number {
    return this.terms.length;
  }

  private addTerm(raw: string): void {
    const trimmed = raw.trim();
    const anyStart = trimmed.startsWith('*');
    const anyEnd = trimmed.endsWith('*');
    const body = trimmed.replace(/^\*+|\*+$/g, '');
    const { cps } = normalize(body);
    if (cps.length === 0) return;
    const cjk = cps.some(isCjk);
    const id = this.terms.length;
    this.terms.push({ source: trimmed, length: cps.length, anyStart: anyStart || cjk, anyEnd: anyEnd || anyStart || cjk });
    let node = 0;
    for (const c of cps) {
      const edges = this.next[node] as Map<number, number>;
      let child = edges.get(c);
      if (child === undefined) {
        child = this.next.length;
        edges.set(c, child);
        this.next.push(new Map());
        this.fail.push(0);
        this.outputs.push(undefined);
        this.dict.push(-1);
      }
      node = child;
    }
    (this.outputs[node] ??= []).push(id);
  }

  /** Failure and dictionary links, breadth first (a step every thousand nodes). */
  private *link(): Generator<void, void, undefined> {
    const queue: number[] = [];
    for (const child of (this.next[0] as Map<number, number>).values()) queue.push(child);
    for (let q = 0; q < queue.length; q++) {
      if (q % 1024 === 1023) yield;
      const node = queue[q] as number;
      for (const [c, child] of this.next[node] as Map<number, number>) {
        let f = this.fail[node] as number;
        while (f !== 0 && !(this.next[f] as Map<number, number>).has(c)) f = this.fail[f] as number;
        const target = (this.next[f] as Map<number, number>).get(c);
        const fc = target !== undefined && target !== child ? target : 0;
        this.fail[child] = fc;
        this.dict[child] = this.outputs[fc] ? fc : (this.dict[fc] as number);
        queue.push(child);
      }
    }
  }

  /** The first term or pattern in `text` and every range to mask, or undefined. */
  match(text: string): FilterMatch | undefined {
    if (this.empty) return undefined;
    const norm = normalize(text);
    const { cps, from, to, start } = norm;
    const n = cps.length;
    let found: FilterMatch | undefined;
    const hit = (matched: string, s: number, e: number): void => {
      found ??= { matched, ranges: [] };
      found.ranges.push([from[s] as number, to[e] as number]);
    };
    if (this.terms.length > 0) {
      let node = 0;
      for (let i = 0; i < n; i++) {
        const c = cps[i] as number;
        let child = (this.next[node] as Map<number, number>).get(c);
        while (child === undefined && node !== 0) {
          node = this.fail[node] as number;
          child = (this.next[node] as Map<number, number>).get(c);
        }
        node = child ?? 0;
        for (let out = this.outputs[node] ? node : (this.dict[node] as number); out > 0; out = this.dict[out] as number) {
          for (const id of this.outputs[out] as number[]) {
            const term = this.terms[id] as Term;
            const s = i - term.length + 1;
            if (!term.anyStart && !start[s]) continue;
            if (!term.anyEnd && i + 1 < n && !start[i + 1]) continue;
            hit(term.source, s, i);
          }
        }
      }
    }
    if (this.patterns.length > 0 && n > 0) {
      // Patterns see the normalised text as a string; map UTF-16 units back to code points.
      let joined = '';
      const unitToCp: number[] = [];
      for (let k = 0; k < n; k++) {
        const ch = String.fromCodePoint(cps[k] as number);
        joined += ch;
        for (let u = 0; u < ch.length; u++) unitToCp.push(k);
      }
      for (const { source, re } of this.patterns) {
        // RE2 finds every leftmost match in one pass; empty matches mask nothing.
        const m = re.matcher(joined);
        while (m.find()) {
          const start = m.start();
          const end = m.end();
          if (end > start) hit(source, unitToCp[start] as number, unitToCp[end - 1] as number);
        }
      }
    }
    return found;
  }
}

/** `text` with every range replaced by one `*` per code point. */
export function mask(text: string, ranges: ReadonlyArray<readonly [number, number]>): string {
  const masked = new Uint8Array(text.length);
  for (const [a, b] of ranges) masked.fill(1, a, b);
  let out = '';
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i) as number;
    const w = cp > 0xffff ? 2 : 1;
    out += masked[i] ? '*' : String.fromCodePoint(cp);
    i += w;
  }
  return out;
}
