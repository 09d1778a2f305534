import { css } from 'lit';

/** Styles of `<barrage-settings>`; parts: `panel`, `field`. */
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
  select {
    min-width: 0;
    font: inherit;
  }
  .modes {
    display: flex;
    gap: 8px;
  }
`;
