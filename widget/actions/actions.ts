import { BarrageDanmakuActions } from './actions.component.js';

export { BarrageDanmakuActions };
if (!customElements.get('barrage-danmaku-actions')) customElements.define('barrage-danmaku-actions', BarrageDanmakuActions);

declare global {
  interface HTMLElementTagNameMap {
    'barrage-danmaku-actions': BarrageDanmakuActions;
  }
}
