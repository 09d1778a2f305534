/**
 * Defines `<barrage-heatmap>`. It lives in the replay chunk (imported by
 * widget/replay/replay.ts), not in the main bundle: the element is defined
 * once a `<barrage-overlay video=...>` on the page has loaded replay mode
 * (until then the tag waits, undefined, as custom elements do).
 *
 * @event barrage-heatmap-ready - the density arrived and is drawn (`detail.counts`)
 * @csspart canvas - the drawing
 */
import { attachHeatmap } from './heatmap.js';

/** `<barrage-heatmap>`: see heatmap.ts. */
export class BarrageHeatmap extends HTMLElement {
  static observedAttributes = ['video', 'for', 'server', 'buckets'];
  private detach: (() => void) | undefined;
  connectedCallback(): void {
    if (!this.detach && this.getAttribute('video')) this.detach = attachHeatmap(this);
  }
  /** Another video or player: draw again. */
  attributeChangedCallback(): void {
    this.disconnectedCallback();
    if (this.isConnected) this.connectedCallback();
  }
  disconnectedCallback(): void {
    this.detach?.();
    this.detach = undefined;
  }
}

if (!customElements.get('barrage-heatmap')) customElements.define('barrage-heatmap', BarrageHeatmap);

declare global {
  interface HTMLElementTagNameMap {
    'barrage-heatmap': BarrageHeatmap;
  }
}
