import { css } from 'lit';

/** Styles of `<barrage-mod-console>`; parts: `console`, `tabs`, `tab`, `panel`, `row`, `action`, `feedback`. */
export const consoleStyles = css`
  :host {
    display: flex;
    flex-direction: column;
    min-height: 0;
    font: 13px/1.4 var(--barrage-font-family, system-ui, sans-serif);
    color: var(--barrage-chat-fg, #e8e8ee);
    background: var(--barrage-panel-bg, #1e1e28);
  }
  :host([standalone]) {
    height: 100%;
  }
  [role='tablist'] {
    display: flex;
    gap: 2px;
    padding: 4px;
    border-bottom: 1px solid rgba(255, 255, 255, 0.1);
  }
  button,
  select,
  input,
  textarea {
    font: inherit;
  }
  button {
    color: inherit;
    background: rgba(255, 255, 255, 0.08);
    border: 0;
    border-radius: 5px;
    padding: 3px 8px;
    cursor: pointer;
  }
  button:hover,
  button:focus-visible {
    background: rgba(255, 255, 255, 0.18);
  }
  [role='tab'][aria-selected='true'] {
    background: var(--barrage-accent, #ff7aa8);
    color: #000;
  }
  .panel {
    flex: 1;
    overflow-y: auto;
    padding: 4px 8px;
    min-height: 0;
  }
  ul {
    margin: 0;
    padding: 0;
    list-style: none;
  }
  li {
    display: flex;
    flex-wrap: wrap;
    gap: 4px;
    align-items: center;
    padding: 3px 0;
    border-bottom: 1px solid rgba(255, 255, 255, 0.06);
  }
  .who {
    color: var(--barrage-chat-muted, #9aa0b4);
  }
  .text {
    flex: 1 1 140px;
    overflow-wrap: anywhere;
  }
  .meta {
    width: 100%;
    color: var(--barrage-chat-muted, #9aa0b4);
    font-size: 12px;
  }
  .empty {
    color: var(--barrage-chat-muted, #9aa0b4);
    padding: 8px 0;
  }
  form {
    display: grid;
    grid-template-columns: auto 1fr auto;
    gap: 6px;
    align-items: center;
    padding: 4px 0;
  }
  .plays form {
    grid-template-columns: auto 1fr;
    border-bottom: 1px solid rgba(255, 255, 255, 0.1);
  }
  .plays .wide {
    grid-column: 1 / -1;
  }
  .plays h3 {
    margin: 0;
    font-size: 14px;
  }
  .feedback {
    padding: 4px 8px;
    min-height: 1.4em;
  }
  .ok {
    color: #8be28b;
  }
  .bad {
    color: #ffb4a8;
  }
`;
