import { css } from 'lit';

/** Styles of `<barrage-settings>`; parts: `panel`, `field`, `blocked-users`. */
export const settingsPanelStyles = css`
  :host {
    display: block;
    font: 14px/1.4 var(--barrage-font-family, system-ui, sans-serif);
    color: var(--barrage-card-fg, #fff);
  }
  form {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 6px 10px;
    align-items: center;
    width: 280px;
    padding: 12px;
    background: var(--barrage-panel-bg, rgba(20, 20, 28, 0.92));
    border-radius: var(--barrage-radius, 8px);
  }
  h2 {
    grid-column: 1 / -1;
    margin: 0 0 4px;
    font-size: 15px;
  }
  input[type='text'],
  input[type='number'],
  textarea,
  select {
    min-width: 0;
    font: inherit;
  }
  .modes {
    display: flex;
    gap: 8px;
  }
  textarea {
    resize: vertical;
  }
  .bad {
    grid-column: 1 / -1;
    margin: 0;
    color: #ffb4a8;
    font-size: 12px;
  }
  .users {
    margin: 0;
    padding: 0;
    list-style: none;
    max-height: 96px;
    overflow-y: auto;
  }
  .users li {
    display: flex;
    justify-content: space-between;
    gap: 6px;
  }
  .users button {
    font: inherit;
    background: none;
    color: inherit;
    border: 0;
    cursor: pointer;
  }
  .none {
    opacity: 0.7;
  }
`;
