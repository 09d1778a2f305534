import { BarrageModConsole } from './console.component.js';

export { BarrageModConsole };
if (!customElements.get('barrage-mod-console')) customElements.define('barrage-mod-console', BarrageModConsole);

declare global {
  interface HTMLElementTagNameMap {
    'barrage-mod-console': BarrageModConsole;
  }
}
