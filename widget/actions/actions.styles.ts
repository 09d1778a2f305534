import { css } from 'lit';

/** Styles of `<barrage-danmaku-actions>`; parts: `toolbar`, `action`, `status`. */
export const actionsStyles = css`
  :host {
    position: absolute;
    z-index: 5;
    pointer-events: auto;
    font: 13px/1.3 var(--barrage-font-family, system-ui, sans-serif);
  }
  .bar {
    display: flex;
    flex-wrap: wrap;
    gap: 2px;
    align-items: center;
    padding: 3px;
    color: var(--barrage-card-fg, #fff);
    background: var(--barrage-panel-bg, rgba(20, 20, 28, 0.92));
    border-radius: var(--barrage-radius, 8px);
    box-shadow: 0 2px 8px rgba(0, 0, 0, 0.4);
  }
  button {
    font: inherit;
    color: inherit;
    background: transparent;
    border: 0;
    border-radius: 6px;
    padding: 4px 8px;
    cursor: pointer;
    white-space: nowrap;
  }
  button:hover,
  button:focus-visible {
    background: rgba(255, 255, 255, 0.16);
  }
  button:focus-visible {
    outline: 2px solid var(--barrage-accent, #ff7aa8);
  }
  button[disabled] {
    opacity: 0.45;
    cursor: default;
  }
  .status {
    padding: 0 6px;
    color: #ffd34f;
  }
`;
