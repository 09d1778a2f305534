/**
 * Joins and leaves for webhooks, as an `EdgeExtension`: when a
 * `BARRAGE_WEBHOOK_URL` wants `join` or `leave`, each signed-in viewer's
 * connection opening and closing is published to core on
 * `barrage.webhooks.presence` (one small JSON message, core NATS: best
 * effort, so an edge that dies sends no leaves; online counts stay the
 * truth). Guests are not reported (they have no user). A reconnect is a
 * leave and a join.
 */
import type { Conn } from './connection.js';
import type { EdgeContext, EdgeExtension } from './extensions.js';
import { subjects } from '../domain/subjects.js';

/** What an edge publishes per join or leave. */
export interface WebhookPresence {
  event: 'join' | 'leave';
  room: string;
  user: { id: string; name: string; role: string };
  edge: string;
  session: number;
  ts_ms: number;
}

/** The extension; `join` and `leave` say which of the two to publish. */
export function webhookPresenceExtension(options: { join: boolean; leave: boolean }): EdgeExtension {
  let context: EdgeContext | undefined;
  const encoder = new TextEncoder();
  const publish = (event: 'join' | 'leave', conn: Conn): void => {
    const { identity } = conn;
    if (!context || identity.role === 'guest') return;
    const message: WebhookPresence = {
      event,
      room: conn.room,
      user: { id: identity.userId, name: identity.name, role: identity.role },
      edge: context.config.edgeId,
      session: conn.session,
      ts_ms: Date.now(),
    };
    context.bus.publish(subjects.webhookPresence, encoder.encode(JSON.stringify(message)));
  };
  return {
    name: 'webhook presence',
    ...(options.join ? { onOpen: (conn: Conn) => publish('join', conn) } : {}),
    ...(options.leave ? { onClose: (conn: Conn) => publish('leave', conn) } : {}),
    start(ctx: EdgeContext) {
      context = ctx;
    },
  };
}
