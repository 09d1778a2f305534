import { BarrageChat } from './chat.component.js';

export { BarrageChat };
if (!customElements.get('barrage-chat')) customElements.define('barrage-chat', BarrageChat);

declare global {
  interface HTMLElementTagNameMap {
    'barrage-chat': BarrageChat;
  }
}
