/**
 * Unsequenced events core sends to some sockets (`DirectMessage` on
 * `barrage.direct`, core/messages/message-service.ts): a private line of the
 * site API to one user's sockets in a room, or a broadcast notice to every
 * socket. Every edge takes every such message (they are rare: site API calls,
 * not viewer traffic) and delivers it to the sockets it holds, so a user with
 * sockets on several edges gets it on each. The event has seq 0, so no client
 * counts it as part of the room's sequence; it is not replayed on resume.
 */
import { v1 } from '../proto/index.js';
import type { Subscription } from '../domain/bus.js';
import { subjects } from '../domain/subjects.js';
import type { EdgeContext, EdgeExtension } from './extensions.js';

/** The extension that delivers direct messages. */
export function directExtension(): EdgeExtension {
  let sub: Subscription | undefined;
  return {
    name: 'direct',
    start(ctx: EdgeContext) {
      sub = ctx.bus.subscribe(subjects.direct, (data) => {
        let message: v1.DirectMessage;
        try {
          message = v1.DirectMessage.decode(data);
        } catch (err) {
          ctx.log.warn({ err }, 'undecodable direct message');
          return;
        }
        const rooms = message.room ? [message.room] : ctx.hostedRooms();
        for (const room of rooms) {
          // One encoding per room (the Batch names its room), the same bytes to each socket.
          let frame: Uint8Array | undefined;
          for (const ws of ctx.socketsOf(room)) {
            if (message.toUser && ws.getUserData().identity.userId !== message.toUser) continue;
            frame ??= v1.ServerFrame.encode({ batch: { room, events: [{ ...message.event, room }] } }).finish();
            ctx.send(ws, frame);
          }
        }
      });
    },
    stop() {
      sub?.unsubscribe();
    },
  };
}
