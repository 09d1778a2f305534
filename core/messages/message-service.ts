/**
 * Messages of the site API (core's side of `POST /api/v1/rooms/:room/messages`
 * and `POST /api/v1/broadcast`): a danmaku from a bot or the site, or a
 * notice, sequenced into the room's log like any event; or, for one user or
 * every room, sent once to every edge unsequenced (`DirectMessage` on
 * `barrage.direct`, seq 0).
 *
 * Why a private line has no seq: a seq is the room's, and every viewer
 * tracks the room's seqs to find gaps; a seq only one user receives would be
 * a gap every other viewer tries to recover on resume (and would be replayed
 * to them). So it is delivered to the user's sockets open at that moment, on
 * every edge, and not stored or replayed. A broadcast to every room is sent
 * the same way (there is no list of every room to sequence into; listed rooms
 * get a sequenced notice each).
 *
 * With an idempotency id, the request is claimed in the gift ledger (the same
 * once-only store, keys `<room>/m:<key>` and `<room>/b:<key>`, so a retry
 * through any edge finds it) and the first answer is given again to a retry.
 */
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { onceInFlight } from '../in-flight.js';
import { roomOfSubject, subjects } from '../../domain/subjects.js';
import type { GiftLedger, LedgerRecord } from '../gifts/gift-ledger.js';
import type { Sequencer } from '../sequencing/sequencer.js';

/** The room part of the ledger key of a broadcast to every room. */
export const everyRoomKey = '*';

/** What the service needs. */
export interface MessageServiceOptions {
  bus: Bus;
  sequencer: Sequencer;
  ledger: GiftLedger;
  logger: Logger;
  now?: () => number;
}

const fail = (error: v1.ErrorCode, message: string): v1.PaidReply => new v1.PaidReply({ error, message });

/** Publishes the site API's messages; see the file comment. */
export class MessageService {
  private readonly subs: Subscription[] = [];
  /** Ids being posted by this core: a concurrent retry waits for the same answer. */
  private readonly inflight = new Map<string, Promise<v1.PaidReply>>();
  private readonly now: () => number;
  /** Posted, sent unsequenced, answered as duplicates. */
  readonly stats = { sequenced: 0, direct: 0, duplicates: 0 };

  constructor(private readonly options: MessageServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    const { bus } = this.options;
    this.subs.push(
      bus.serve(subjects.postAll, async (data, subject) =>
        v1.PaidReply.encode(await this.post(roomOfSubject(subject), v1.PostRequest.decode(data))).finish(),
      ),
      bus.serve(subjects.broadcast, async (data) =>
        v1.PaidReply.encode(await this.post(everyRoomKey, v1.PostRequest.decode(data))).finish(),
      ),
    );
  }

  stop(): void {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.length = 0;
  }

  /** Posts one message to `room` (`everyRoomKey` with `every_room`); answers once stored or sent. */
  async post(room: string, req: v1.PostRequest): Promise<v1.PaidReply> {
    if (!req.event) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a post needs an event');
    if (!req.id) return this.publish(room, req);
    const key = `${room}/${req.id}`;
    return onceInFlight(
      this.inflight,
      key,
      () => this.postOnce(room, key, req),
      () => this.stats.duplicates++,
    );
  }

  private async postOnce(room: string, key: string, req: v1.PostRequest): Promise<v1.PaidReply> {
    let claim;
    try {
      claim = await this.options.ledger.claim(key);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message, room }, 'ledger unavailable for a message');
      return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'ledger unavailable; retry with the same Idempotency-Key');
    }
    if (claim.kind === 'busy') return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'this message is being posted; retry with the same key');
    if (claim.kind === 'done') {
      this.stats.duplicates++;
      const { record } = claim;
      return new v1.PaidReply({
        seq: record.seq,
        duplicate: true,
        conflict: record.fingerprint !== req.fingerprint,
        event: v1.Event.decode(record.event),
      });
    }
    // A claim taken over from a dead core may repeat a message it posted: a line shown twice, never lost (docs/api.md).
    const reply = await this.publish(room, req);
    const record: LedgerRecord = {
      seq: Number(reply.seq),
      event: v1.Event.encode(reply.event ?? {}).finish(),
      fingerprint: req.fingerprint,
    };
    void this.complete(key, record);
    return reply;
  }

  private async complete(key: string, record: LedgerRecord): Promise<void> {
    try {
      await this.options.ledger.complete(key, record);
    } catch (err) {
      // The claim stays pending; after its lease a retry posts again (a duplicate line, not a lost one).
      this.options.logger.warn({ err: (err as Error).message }, 'writing the ledger for a message failed');
    }
  }

  private async publish(room: string, req: v1.PostRequest): Promise<v1.PaidReply> {
    const event = new v1.Event({ ...req.event, tsMs: this.now(), seq: 0 });
    if (req.toUser || req.everyRoom) {
      const target = req.everyRoom ? '' : room;
      event.room = target;
      this.options.bus.publish(subjects.direct, v1.DirectMessage.encode({ room: target, toUser: req.toUser, event }).finish());
      this.stats.direct++;
      return new v1.PaidReply({ seq: 0, event });
    }
    event.room = room;
    const seq = await this.options.sequencer.append(room, event);
    this.stats.sequenced++;
    return new v1.PaidReply({ seq, event });
  }
}
