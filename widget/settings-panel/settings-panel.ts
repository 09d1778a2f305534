import { BarrageSettings } from './settings-panel.component.js';

export { BarrageSettings };
if (!customElements.get('barrage-settings')) customElements.define('barrage-settings', BarrageSettings);

declare global {
  interface HTMLElementTagNameMap {
    'barrage-settings': BarrageSettings;
  }
}
