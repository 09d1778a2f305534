import { css } from 'lit';

/**
 * Styles of `<barrage-chat>`. Custom properties: `--barrage-chat-bg`,
 * `--barrage-chat-fg`, `--barrage-chat-muted`, `--barrage-accent`,
 * `--barrage-radius`, `--barrage-font-family`. Parts: `list`, `form`,
 * `input`, `mode`, `colors`, `send-button`, `like-button`, `gift-button`, `status`, `hidden`, `moderate-button`, `console`, `badge` (and `badge-<id>`), `medal`.
 */
export const chatStyles = css`
  :host {
    display: flex;
    flex-direction: column;
    min-height: 240px;
    font: 14px/1.45 var(--barrage-font-family, system-ui, 'Segoe UI', 'PingFang SC', sans-serif);
    color: var(--barrage-chat-fg, #e8e8ee);
    background: var(--barrage-chat-bg, #17171f);
    border-radius: var(--barrage-radius, 8px);
    overflow: hidden;
  }
  barrage-mod-console {
    flex: 1 1 55%;
    border-bottom: 1px solid rgba(255, 255, 255, 0.12);
  }
  ol {
    flex: 1;
    margin: 0;
    padding: 8px 10px;
    list-style: none;
    overflow-y: auto;
    overflow-wrap: anywhere;
    min-height: 0;
  }
  li {
    padding: 1px 0;
    unicode-bidi: isolate;
  }
  .name {
    color: var(--barrage-chat-muted, #9aa0b4);
    margin-right: 6px;
  }
  .system {
    color: var(--barrage-chat-muted, #9aa0b4);
    font-style: italic;
  }
  .gift {
    color: var(--barrage-accent, #ff7aa8);
  }
  .badge,
  .medal {
    display: inline-flex;
    align-items: center;
    margin-right: 4px;
    padding: 0 4px;
    font-size: 11px;
    line-height: 16px;
    border-radius: 3px;
    vertical-align: 1px;
    color: #fff;
    background: #5b6078;
  }
  .badge-host {
    background: #e5484d;
  }
  .badge-moderator {
    background: #3e8ed0;
  }
  .badge-member {
    background: #d4a017;
    color: #000;
  }
  .medal {
    padding: 0;
    border: 1px solid #ff7aa8;
    background: none;
  }
  .medal span {
    padding: 0 3px;
    color: #ff7aa8;
  }
  .medal b {
    padding: 0 3px;
    background: #ff7aa8;
    color: #000;
  }
  .emote {
    vertical-align: middle;
  }
  .hidden-count {
    color: var(--barrage-chat-muted, #9aa0b4);
    font-size: 12px;
  }
  form {
    display: flex;
    flex-wrap: wrap;
    gap: 6px;
    padding: 8px;
    border-top: 1px solid rgba(255, 255, 255, 0.08);
  }
  input[type='text'] {
    flex: 1 1 160px;
    min-width: 0;
    padding: 6px 8px;
    font: inherit;
    color: inherit;
    background: rgba(255, 255, 255, 0.06);
    border: 1px solid rgba(255, 255, 255, 0.15);
    border-radius: 6px;
  }
  select,
  button {
    font: inherit;
    color: inherit;
    background: rgba(255, 255, 255, 0.08);
    border: 1px solid rgba(255, 255, 255, 0.15);
    border-radius: 6px;
    padding: 4px 8px;
    cursor: pointer;
  }
  button[type='submit'] {
    background: var(--barrage-accent, #ff4f8b);
    border-color: transparent;
    color: #fff;
  }
  button:disabled,
  input:disabled {
    opacity: 0.5;
    cursor: not-allowed;
  }
  .colors {
    display: flex;
    gap: 4px;
    align-items: center;
  }
  .swatch {
    width: 20px;
    height: 20px;
    padding: 0;
    border-radius: 50%;
    border: 2px solid transparent;
  }
  .swatch[aria-pressed='true'] {
    border-color: #fff;
  }
  input[type='color'] {
    width: 24px;
    height: 24px;
    padding: 0;
    border: 0;
    background: none;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 6px;
    width: 100%;
    align-items: center;
  }
  .status {
    flex: 1 1 100%;
    order: 9;
    color: var(--barrage-chat-muted, #9aa0b4);
    font-size: 12px;
  }
  .like.pop {
    animation: pop 0.25s ease-out;
  }
  @keyframes pop {
    50% {
      transform: scale(1.25);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .like.pop {
      animation: none;
    }
  }
`;
