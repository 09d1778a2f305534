/**
 * One request from an edge to core on behalf of a socket, answered on the
 * socket. Every feature that asks core something for a client frame (hold
 * decisions, reports, super chat removal, gifts, plays) has the same needs:
 * decode the reply, never let a bad reply throw into the NATS callback, leave
 * the NATS callback before writing to uWS (so writes cork as usual), and say
 * "not confirmed" when core is silent. `answer` gets `undefined` for a timeout,
 * no responder or an undecodable reply (each logged); it is not called at all
 * once the socket has closed.
 */
import type { Conn } from './connection.js';
import { onMacrotask } from './connection.js';
import type { EdgeContext } from './extensions.js';

export function askCore<Reply>(
  ctx: EdgeContext,
  conn: Conn,
  request: { subject: string; body: Uint8Array; timeoutMs: number; what: string },
  decode: (data: Uint8Array) => Reply,
  answer: (reply: Reply | undefined) => void,
): void {
  const reply = (r: Reply | undefined): void => {
    if (!conn.closed) answer(r);
  };
  ctx.bus.request(request.subject, request.body, request.timeoutMs).then(
    (data) => {
      let decoded: Reply | undefined;
      try {
        decoded = decode(data);
      } catch (err) {
        ctx.log.error({ err, room: conn.room }, `undecodable reply to ${request.what}`);
      }
      onMacrotask(reply, decoded);
    },
    (err: unknown) => {
      ctx.log.warn({ err: (err as Error).message, room: conn.room }, `${request.what} not answered by core`);
      onMacrotask(reply, undefined);
    },
  );
}

/** The answer a client gets when core did not confirm its request. */
export const notConfirmed = 'core did not answer; try again';
