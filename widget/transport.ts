/**
 * How a `BarrageConnection` (widget/connection.ts) reaches the server: a
 * WebSocket, or Server-Sent Events plus POST when WebSocket cannot open
 * (widget/transport-sse.ts, loaded only when needed). Both carry the same
 * binary ServerFrames and ClientFrames; the connection does the resume,
 * backoff and de-duplication whichever carries them.
 */

/** Which transport a connection uses, as its state reports it (a plain union: the widget's bytes are counted). */
export type TransportKind = 'websocket' | 'sse';

/** What a transport tells its connection. */
export interface TransportEvents {
  /** The transport is open (the server has not necessarily welcomed yet). */
  opened(): void;
  /** One binary ServerFrame. */
  frame(bytes: Uint8Array): void;
  /** It ended; `code` as a WebSocket close code (1006: without a close from the server). */
  closed(code: number, reason: string): void;
}

/** One open (or opening) transport. */
export interface Transport {
  /** Sends one encoded ClientFrame; false when it cannot now. */
  send(bytes: Uint8Array): boolean;
  /** The Welcome named this session (SSE posts name it). */
  welcomed(sessionId: string): void;
  /** Ends it without telling `closed`. */
  close(): void;
}

/** The WebSocket transport. */
export function openWebSocket(url: string, events: TransportEvents): Transport {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  let done = false;
  ws.onopen = () => events.opened();
  ws.onmessage = (ev: MessageEvent) => {
    if (ev.data instanceof ArrayBuffer) events.frame(new Uint8Array(ev.data));
  };
  ws.onclose = (ev: CloseEvent) => {
    if (done) return;
    done = true;
    events.closed(ev.code, ev.reason);
  };
  return {
    send(bytes) {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(bytes);
      return true;
    },
    welcomed() {},
    close() {
      done = true;
      ws.close(1000, 'bye');
    },
  };
}
