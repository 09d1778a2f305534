/**
 * What the plays chunk takes from the bundle that loads it, rather than
 * importing it: lit's `html`, `css`, `nothing` and the wire reader and
 * writer. esbuild splits shared code into chunks by the set of chunks that
 * import each file, so a lazy chunk importing lit or proto/wire.ts itself
 * would split the initial bundle's shared code into more, smaller chunks
 * that compress worse (measured: +0.6 KB gzipped on the initial load).
 * `useKit` is called by the overlay and the chat before they use the chunk.
 */
import type { css, html, nothing } from 'lit';
import type { WireReader, WireWriter } from '../../proto/wire.js';

/** The borrowed functions and classes. */
export interface Kit {
  html: typeof html;
  css: typeof css;
  nothing: typeof nothing;
  WireReader: typeof WireReader;
  WireWriter: typeof WireWriter;
}

/** The kit in use (set by `useKit`). */
export const kit = {} as Kit;

/** Sets the kit. */
export function useKit(k: Kit): void {
  Object.assign(kit, k);
}
