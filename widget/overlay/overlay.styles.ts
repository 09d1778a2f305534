import { css } from 'lit';

/**
 * Styles of `<barrage-overlay>`. Themed with custom properties:
 * `--barrage-font-family`, `--barrage-danmaku-weight`, `--barrage-accent`,
 * `--barrage-card-bg`, `--barrage-card-fg`, `--barrage-radius`; and parts:
 * `stage`, `danmaku`, `list`, `counters`, `top-gifters`, `gifts`, `gift`, `super-chats`,
 * `super-chat`, `pinned`, `skipped`, `notice`, `settings-button`, `settings`.
 */
export const overlayStyles = css`
  :host {
    position: relative;
    display: block;
    overflow: hidden;
    pointer-events: none;
    font-family: var(--barrage-font-family, system-ui, 'Segoe UI', 'PingFang SC', 'Noto Sans CJK SC', sans-serif);
    color: var(--barrage-card-fg, #fff);
    contain: strict;
  }
  :host([hidden]) {
    display: none;
  }
  .stage {
    position: absolute;
    inset: 0;
    overflow: hidden;
    contain: strict;
    /* Layers: counters under the danmaku (viewers came to read the danmaku,
       and a badge must not hide the top lane); paid alerts, notices and the
       settings controls over them. */
    z-index: 1;
  }
  .super-chats,
  .pinned,
  .notice,
  .gifts,
  .skipped,
  .settings-button,
  barrage-settings {
    z-index: 2;
  }
  .belt {
    position: absolute;
    left: 0;
    will-change: transform;
  }
  .d {
    position: absolute;
    white-space: pre;
    line-height: 1.2;
    font-weight: var(--barrage-danmaku-weight, 600);
    unicode-bidi: isolate;
    text-shadow:
      0 0 2px #000,
      0 0 1px #000;
  }
  /* Danmaku take the pointer (hover and tap to act on one); the stage around them does not, so the video keeps its clicks. */
  .d {
    pointer-events: auto;
  }
  .d.held {
    z-index: 3;
    padding: 0 4px;
    margin-left: -4px;
    background: rgba(0, 0, 0, 0.45);
    border-radius: 4px;
    outline: 1px solid rgba(255, 255, 255, 0.7);
  }
  .stage:focus-visible {
    outline: 2px dashed var(--barrage-accent, #ff7aa8);
    outline-offset: -2px;
  }
  .d .emote {
    vertical-align: middle;
  }
  .d .badge,
  .d .medal {
    display: inline-block;
    margin-right: 0.3em;
    padding: 0 0.15em;
    font-size: 0.55em;
    line-height: 1.4;
    vertical-align: 0.3em;
    border-radius: 3px;
    background: rgba(0, 0, 0, 0.55);
    text-shadow: none;
    white-space: nowrap;
  }
  .d.dark {
    text-shadow:
      0 0 2px #fff,
      0 0 1px #fff;
  }
  .list {
    position: absolute;
    left: 8px;
    bottom: 8px;
    max-width: min(60%, 480px);
    margin: 0;
    padding: 6px 10px;
    list-style: none;
    font-size: 15px;
    line-height: 1.4;
    background: var(--barrage-card-bg, rgba(0, 0, 0, 0.55));
    border-radius: var(--barrage-radius, 8px);
  }
  .list li {
    overflow: hidden;
    white-space: nowrap;
    text-overflow: ellipsis;
  }
  .card {
    background: var(--barrage-card-bg, rgba(0, 0, 0, 0.55));
    border-radius: var(--barrage-radius, 8px);
    padding: 4px 10px;
    font-size: 14px;
    line-height: 1.4;
  }
  .counters {
    position: absolute;
    top: 8px;
    right: 8px;
    display: flex;
    gap: 10px;
  }
  /* First in the paid column (over the super chats, never under them). */
  .top-gifters {
    margin: 0;
    list-style: none;
    align-self: flex-start;
    max-width: 260px;
  }
  .top-gifters li {
    display: flex;
    gap: 8px;
    white-space: nowrap;
  }
  .top-gifters .rank {
    font-weight: 700;
    opacity: 0.8;
  }
  .top-gifters .name {
    flex: 1;
    overflow: hidden;
    text-overflow: ellipsis;
  }
  .top-gifters .amount {
    font-variant-numeric: tabular-nums;
    color: var(--barrage-accent, #ff4f8b);
  }
  .gifts {
    position: absolute;
    left: 8px;
    bottom: 25%;
    display: flex;
    flex-direction: column;
    gap: 6px;
    align-items: flex-start;
  }
  .gift {
    display: flex;
    gap: 8px;
    align-items: center;
    border-left: 4px solid var(--barrage-accent, #ff4f8b);
    animation: slide-in 0.25s ease-out;
  }
  .gift img {
    width: 28px;
    height: 28px;
  }
  .combo {
    font-size: 20px;
    font-weight: 800;
    font-style: italic;
    color: var(--barrage-accent, #ffd34f);
  }
  .bump-a .combo {
    animation: bump-a 0.3s ease-out;
  }
  .bump-b .combo {
    animation: bump-b 0.3s ease-out;
  }
  .super-chats {
    position: absolute;
    top: 8px;
    left: 8px;
    display: flex;
    flex-direction: column;
    gap: 6px;
    max-width: min(40%, 360px);
  }
  .super-chat {
    padding: 0;
    overflow: hidden;
  }
  .super-chat header {
    padding: 4px 10px;
    font-weight: 700;
  }
  .super-chat p {
    margin: 0;
    padding: 4px 10px 6px;
    overflow-wrap: anywhere;
  }
  .super-chat .bar {
    height: 3px;
    background: rgba(255, 255, 255, 0.8);
    transform-origin: left;
    animation: shrink linear forwards;
  }
  .pinned,
  .notice {
    position: absolute;
    left: 50%;
    transform: translateX(-50%);
    max-width: 70%;
    overflow-wrap: anywhere;
  }
  .pinned {
    top: 8px;
    border: 1px solid var(--barrage-accent, #ff4f8b);
  }
  .notice {
    top: 44px;
  }
  .skipped {
    position: absolute;
    right: 8px;
    bottom: 8px;
  }
  button {
    pointer-events: auto;
    font: inherit;
  }
  .settings-button {
    position: absolute;
    right: 8px;
    top: 40px;
    width: 32px;
    height: 32px;
    border: 0;
    border-radius: 50%;
    color: #fff;
    background: var(--barrage-card-bg, rgba(0, 0, 0, 0.55));
    cursor: pointer;
  }
  barrage-settings {
    position: absolute;
    right: 8px;
    top: 78px;
    pointer-events: auto;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }
  @keyframes slide-in {
    from {
      transform: translateX(-20px);
      opacity: 0;
    }
  }
  @keyframes bump-a {
    50% {
      transform: scale(1.5);
    }
  }
  @keyframes bump-b {
    50% {
      transform: scale(1.5);
    }
  }
  @keyframes shrink {
    to {
      transform: scaleX(0);
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .gift,
    .bump-a .combo,
    .bump-b .combo {
      animation: none;
    }
  }
`;
