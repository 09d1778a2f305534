/**
 * Defines `<barrage-heatmap>` with almost no code: the drawing (heatmap.ts)
 * is a lazy chunk loaded when the element is first put on a page.
 *
 * @event barrage-heatmap-ready - the density arrived and is drawn (`detail.counts`)
 * @csspart canvas - the drawing
 */
export class BarrageHeatmap extends HTMLElement {
  static observedAttributes = ['video', 'for', 'server', 'buckets'];
  private detach: (() => void) | undefined;
  connectedCallback(): void {
    void import('./heatmap.js').then(({ attachHeatmap }) => {
      if (this.isConnected && !this.detach && this.getAttribute('video')) this.detach = attachHeatmap(this);
    });
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
