/**
 * The SSE fallback transport (server side: edge/sse.ts, docs/protocol.md
 * "SSE"): frames arrive as base64 SSE messages on an EventSource, frames go
 * out as `POST /sse/send` with the same token. Loaded with `import()` only
 * when a WebSocket could not open, so pages that never need it do not
 * download it.
 *
 * The browser's own EventSource reconnect is not used: on any error the
 * stream is closed and reported, and the connection reconnects with its
 * backoff and `since`, as for a WebSocket. A stream that shows nothing (not
 * even the Welcome) for `quietMs` is taken to be held by a buffering
 * intermediary: from then on it is opened with `mode=poll`, each response
 * ending after its first live frame, and an ended poll is reported as 1000
 * (reconnect at once).
 */
import type { Transport, TransportEvents } from './transport.js';

/** Options of the SSE transport. */
export interface SseTransportOptions {
  /** The WebSocket URL the connection would use (`ws(s)://host/ws`); the SSE URLs sit beside it. */
  wsUrl: string;
  /** The query of the connect (room, token, since, epoch). */
  query: URLSearchParams;
  /** Use `mode=poll` from the start (a buffering intermediary was seen before). */
  poll: boolean;
  /** No message for this long: a buffering intermediary (default 6 s). */
  quietMs?: number;
  /** Told once a buffering intermediary is suspected, so later connects poll. */
  onBuffered?: () => void;
}

function httpBase(wsUrl: string): string {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = u.pathname.replace(/\/ws$/, '');
  u.search = '';
  return u.toString().replace(/\/$/, '');
}

function fromBase64(data: string): Uint8Array {
  const bin = atob(data);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Opens an SSE stream; see the file comment. */
export function openSse(options: SseTransportOptions, events: TransportEvents): Transport {
  const base = httpBase(options.wsUrl);
  const query = new URLSearchParams(options.query);
  if (options.poll) query.set('mode', 'poll');
  const es = new EventSource(`${base}/sse?${query}`);
  const token = options.query.get('token') ?? '';
  let session = '';
  let done = false;
  let heard = false;
  const finish = (code: number, reason: string): void => {
    if (done) return;
    done = true;
    clearTimeout(quiet);
    es.close();
    events.closed(code, reason);
  };
  const quiet = setTimeout(() => {
    if (heard || options.poll) return;
    options.onBuffered?.();
    finish(1006, 'no data: a buffering intermediary?');
  }, options.quietMs ?? 6_000);
  es.onopen = () => events.opened();
  es.onmessage = (ev: MessageEvent<string>) => {
    heard = true;
    try {
      events.frame(fromBase64(ev.data));
    } catch {
      // Not base64: not a frame of ours.
    }
  };
  es.addEventListener('close', (ev) => {
    const data = (ev as MessageEvent<string>).data ?? '';
    const at = data.indexOf(' ');
    finish(Number(at < 0 ? data : data.slice(0, at)) || 1006, at < 0 ? '' : data.slice(at + 1));
  });
  // A poll that ended after showing something is a normal end: reconnect at once.
  es.onerror = () => finish(options.poll && heard ? 1000 : 1006, options.poll && heard ? 'poll' : 'stream error');
  return {
    send(bytes) {
      if (done || session === '') return false;
      const q = new URLSearchParams({ session });
      if (token) q.set('token', token);
      // text/plain and the token in the query: a simple request, no CORS preflight.
      void fetch(`${base}/sse/send?${q}`, { method: 'POST', body: new Blob([bytes as BlobPart], { type: 'text/plain' }) }).catch(
        () => undefined,
      );
      return true;
    },
    welcomed(id) {
      session = id;
    },
    close() {
      done = true;
      clearTimeout(quiet);
      es.close();
    },
  };
}
