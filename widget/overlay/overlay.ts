import { BarrageOverlay } from './overlay.component.js';

export { BarrageOverlay };
if (!customElements.get('barrage-overlay')) customElements.define('barrage-overlay', BarrageOverlay);

declare global {
  interface HTMLElementTagNameMap {
    'barrage-overlay': BarrageOverlay;
  }
}
