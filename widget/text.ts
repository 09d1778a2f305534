/**
 * Text from viewers, made safe to show. It is always put on the page as text
 * (textContent or a Lit text binding), so markup never becomes markup; this
 * also keeps one danmaku on one line and inside its lane, even when it came
 * from a source that did not validate it as the edge does.
 */

// Control characters, line/paragraph separators, bidi embeddings, overrides and isolates.
const unsafe = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/gu;
// Four or more stacked combining marks draw over the lines around them.
const stacked = /(\p{M}{3})\p{M}+/gu;
const maxChars = 300;

/** One line of plain text, without characters that can break the layout. */
export function displayText(text: string): string {
  let s = text.replace(unsafe, ' ').replace(stacked, '$1');
  if (s.length > maxChars) s = s.slice(0, maxChars) + '…';
  return s;
}

/** Formats a count compactly (12.3K), as counters show it. */
export function compact(n: number): string {
  return n < 10_000 ? String(n) : new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

/** An amount in cents as the widget shows money (`12.50`). */
export function money(cents: number): string {
  return (cents / 100).toFixed(2);
}

/** `0xRRGGBB` as a CSS colour. */
export function cssColor(color: number): string {
  return '#' + (color & 0xffffff).toString(16).padStart(6, '0');
}

/** Dispatches a `barrage-*` CustomEvent that bubbles out of shadow roots. */
export function emit<T>(target: EventTarget, name: `barrage-${string}`, detail: T, cancelable = false): boolean {
  return target.dispatchEvent(new CustomEvent<T>(name, { detail, bubbles: true, composed: true, cancelable }));
}
