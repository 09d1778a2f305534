/**
 * Core's plays: red packets, polls and quizzes, lotteries. One responder on
 * `barrage.room.*.play` takes every `PlayRequest` (from edges: a viewer's
 * grab, vote, join or a host's start_poll; from the HTTP API: create and
 * read) and hands it to the service of its kind.
 */
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { roomOfSubject, subjects } from '../../domain/subjects.js';
import type { Sequencer } from '../sequencing/sequencer.js';
import { LotteryService } from './lotteries.js';
import { PollService } from './polls.js';
import { defaultGrabsPage, maxGrabsPage } from './red-packet-live.js';
import type { PlayStateStore } from './play-state-store.js';
import type { RedPacketStore } from './red-packet-store.js';
import { RedPacketService } from './red-packets.js';

/** What the plays run on. */
export interface PlaysOptions {
  bus: Bus;
  sequencer: Sequencer;
  store: RedPacketStore;
  /** Polls, lotteries and keyword eligibility (survive a core restart with a shared store). */
  state: PlayStateStore;
  logger: Logger;
  /** True for a gift id of the catalogue (lotteries entered by a gift). */
  knownGift: (id: string) => boolean;
}

/** The three play services behind one bus responder. */
export class Plays {
  readonly redPackets: RedPacketService;
  readonly polls: PollService;
  readonly lotteries: LotteryService;
  private sub: Subscription | undefined;

  constructor(private readonly options: PlaysOptions) {
    const { bus, sequencer, logger } = options;
    const { state } = options;
    this.redPackets = new RedPacketService({ bus, sequencer, store: options.store, state, logger });
    this.polls = new PollService({ bus, sequencer, store: state, logger });
    this.lotteries = new LotteryService({ bus, sequencer, store: state, logger, knownGift: options.knownGift });
  }

  start(): void {
    this.sub = this.options.bus.serve(subjects.playAll, async (data, subject) => {
      let req: v1.PlayRequest;
      try {
        req = v1.PlayRequest.decode(data);
      } catch {
        return v1.PlayReply.encode({ error: ErrorCode.ERROR_CODE_BAD_FRAME, message: 'not a PlayRequest' }).finish();
      }
      return v1.PlayReply.encode(await this.handle(roomOfSubject(subject), req)).finish();
    });
    this.redPackets.start();
    this.polls.start();
    this.lotteries.start();
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.redPackets.stop();
    this.polls.stop();
    this.lotteries.stop();
  }

  /** Answers one play request. */
  async handle(room: string, req: v1.PlayRequest): Promise<v1.PlayReply> {
    const user = req.user ?? undefined;
    switch (req.kind) {
      case 'createRedPacket':
        return this.redPackets.create(room, req.createRedPacket as v1.CreateRedPacket, user);
      case 'grabRedPacket':
        return this.redPackets.grab(room, req.grabRedPacket?.id ?? '', user, req.member);
      case 'getRedPacket':
        return this.redPackets.read(room, req.getRedPacket ?? '', {
          offset: req.grabsOffset,
          limit: Math.min(maxGrabsPage, req.grabsLimit || defaultGrabsPage),
        });
      case 'createPoll':
        return this.polls.create(room, req.createPoll as v1.CreatePoll, user);
      case 'vote':
        return this.polls.vote(room, req.vote?.pollId ?? '', req.vote?.option ?? 0, user, req.member);
      case 'getPoll':
        return this.polls.read(room, req.getPoll ?? '');
      case 'createLottery':
        return this.lotteries.create(room, req.createLottery as v1.CreateLottery, user);
      case 'joinLottery':
        return this.lotteries.join(room, req.joinLottery?.id ?? '', user, req.member);
      case 'getLottery':
        return this.lotteries.read(room, req.getLottery ?? '');
      default:
        return new v1.PlayReply({ error: ErrorCode.ERROR_CODE_INVALID_ARGUMENT, message: 'unknown play request' });
    }
  }
}
