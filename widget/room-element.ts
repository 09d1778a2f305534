/**
 * What both components share: the attributes that say which room to show and
 * how to authenticate, and the subscription to the page's shared connection.
 */
import { LitElement } from 'lit';
import type { PropertyValues } from 'lit';
import { BarrageConnection, defaultServerUrl, sharedConnection } from './connection.js';
import type { ConnectionListener, ConnectionState, TokenProvider } from './connection.js';
import type { Welcome, WireErrorFrame, WireEvent } from './wire.js';
import { emit } from './text.js';
import { I18nController } from './i18n/controller.js';
import type { Translator } from './i18n/i18n.js';

/** A Lit element bound to one room through a shared `BarrageConnection`. */
export abstract class RoomElement extends LitElement implements ConnectionListener {
  static override properties = {
    room: { type: String },
    video: { type: String },
    token: { type: String },
    server: { type: String },
    currency: { type: String },
    tokenProvider: { attribute: false },
    connection: { attribute: false },
  };

  /** Room id. */
  room = '';
  /**
   * A recording instead of a room (replay mode): the connection joins with `video=` (its VOD
   * danmaku, posted at the player's time), and the overlay replays its danmaku (docs/widget.md).
   */
  video = '';
  /** A JWT for the room; empty connects as a read-only guest. */
  token = '';
  /** WebSocket endpoint; defaults to `/ws` on the server that served the bundle. */
  server = '';
  /** ISO 4217 code prices are shown in (`CNY`, `JPY`); empty shows plain amounts. */
  currency = '';
  /** Called before every connect for a fresh token (takes precedence over `token`). */
  tokenProvider: TokenProvider | undefined;
  /** The connection in use; set it to share one explicitly, or leave it to be found by server and room. */
  connection: BarrageConnection | undefined;
  /** The Welcome of the current session. */
  protected welcomed: Welcome | undefined;
  /** Server clock minus this page's clock, measured when the Welcome arrived (0 before). */
  protected clockOffsetMs = 0;
  /** The element's language: its `lang` attribute, then the page's, then the browser's. */
  protected readonly i18n = new I18nController(this);
  private unsubscribe: (() => void) | undefined;
  private bound: BarrageConnection | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    this.bind();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unbind();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (
      changed.has('room') ||
      changed.has('video') ||
      changed.has('server') ||
      changed.has('connection') ||
      changed.has('token') ||
      changed.has('tokenProvider')
    )
      this.bind();
  }

  private bind(): void {
    if (!this.isConnected) return;
    let conn = this.connection;
    if (!conn && (this.room || this.video)) {
      const options = { url: this.server || defaultServerUrl(), room: this.video || this.room, video: !!this.video, token: this.token };
      conn = sharedConnection(this.tokenProvider ? { ...options, tokenProvider: this.tokenProvider } : options);
    }
    if (conn === this.bound) return;
    this.unbind();
    this.bound = conn;
    if (conn) this.unsubscribe = conn.subscribe(this);
  }

  private unbind(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.bound = undefined;
  }

  /** The connection this element listens to (given or found by server and room). */
  get activeConnection(): BarrageConnection | undefined {
    return this.bound;
  }

  /** Strings, money and dates in the element's language. */
  get tr(): Translator {
    return this.i18n.tr;
  }

  protected get conn(): BarrageConnection | undefined {
    return this.bound;
  }

  welcome(welcome: Welcome): void {
    this.welcomed = welcome;
    this.clockOffsetMs = welcome.serverTsMs - Date.now();
    emit(this, 'barrage-connected', { welcome });
    this.requestUpdate();
  }

  state(state: ConnectionState, detail: { code?: number; reason?: string; retryInMs?: number }): void {
    if (state === 'waiting' || state === 'closed') emit(this, 'barrage-disconnected', { state, ...detail });
    this.requestUpdate();
  }

  error(error: WireErrorFrame): void {
    emit(this, 'barrage-error', error);
  }

  abstract events(events: readonly WireEvent[], history: boolean): void;
}
