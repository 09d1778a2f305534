/**
 * Polls and live quizzes (投票, 直播答题) in core. Opened by a site backend
 * (`POST /api/v1/rooms/:room/polls`) or a host or admin over the socket
 * (`start_poll`); voted on with `vote{poll_id, option}` through any edge, one
 * vote per user (changed if the poll allows it; never in a quiz).
 *
 * Core holds every vote, so one poll agrees across edges; tallies are pushed
 * at most once a second while they change, as a counter event (`poll_tally`:
 * the edge's overload sampling drops only chat, never counters), and the
 * final result is a control event (`poll_result`: stored, replayed on
 * resume). A quiz reveals its right option in the result, with the number
 * of viewers who chose it (within `answer_window_s` of the start, when set)
 * and the earliest of them.
 *
 * Polls and votes are kept in the play-state store (NATS KV clustered): a
 * vote is answered once stored, and a restarted core reloads open polls with
 * their votes and ends them on time (at once if their time passed).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';
import type { Sequencer } from '../sequencing/sequencer.js';
import { playEndActor } from './play-actor.js';
import { InFlight, fromBase64, readStored, resumeWithRetry, saveRecord, storeRecord, toBase64 } from './play-resume.js';
import type { PlayStateStore } from './play-state-store.js';

/** Limits of a poll. */
export const pollLimits = {
  minOptions: 2,
  maxOptions: 10,
  maxQuestion: 200,
  maxOption: 80,
  minDurationS: 5,
  maxDurationS: 86_400,
} as const;
/** Tallies are pushed at most this often. */
export const tallyIntervalMs = 1_000;
/** Quiz winners named in the result event (the API lists all). */
export const resultWinnersListed = 50;
/** An ended poll stays readable through the API this long. */
const keepEndedMs = 3_600_000;

interface Ballot {
  option: number;
  atMs: number;
  user: { id: string; name: string };
}

/** A vote as stored (the user id is the entry's key). */
interface StoredBallot {
  option: number;
  atMs: number;
  name: string;
}

/** A poll as stored: written at the start, replaced at the end. */
interface PollRecord {
  fingerprint: string;
  /** The `CreatePoll`, protobuf in base64. */
  spec: string;
  by: { id: string; name: string; role: number };
  openedAtMs: number;
  endsAtMs: number;
  /** Seq of the `poll` event (0 until announced). */
  openedSeq: number;
  ended: boolean;
  /** The `PollResult`, protobuf in base64, once ended. */
  result?: string;
}

interface OpenPoll {
  room: string;
  id: string;
  record: PollRecord;
  spec: v1.CreatePoll;
  ballots: Map<string, Ballot>;
  votes: number[];
  changed: boolean;
  ended: boolean;
  result: v1.IPollResult | undefined;
  timer: NodeJS.Timeout | undefined;
  inflight: InFlight;
  announcing: Promise<void> | undefined;
}

const fail = (error: v1.ErrorCode, message: string): v1.PlayReply => new v1.PlayReply({ error, message });

/** Why a poll cannot be opened, or undefined. */
export function pollProblem(spec: v1.ICreatePoll): string | undefined {
  const question = (spec.question ?? '').trim();
  if (!question || [...question].length > pollLimits.maxQuestion) return `question must be 1-${pollLimits.maxQuestion} characters`;
  const options = spec.options ?? [];
  if (options.length < pollLimits.minOptions || options.length > pollLimits.maxOptions) {
    return `options must be ${pollLimits.minOptions} to ${pollLimits.maxOptions}`;
  }
  for (const o of options) {
    if (!o.trim() || [...o].length > pollLimits.maxOption) return `each option must be 1-${pollLimits.maxOption} characters`;
  }
  const duration = spec.durationS ?? 0;
  if (duration < pollLimits.minDurationS || duration > pollLimits.maxDurationS) {
    return `duration_s must be ${pollLimits.minDurationS} to ${pollLimits.maxDurationS}`;
  }
  if (spec.hasCorrect && (spec.correct ?? 0) >= options.length) return 'correct must be the index of an option';
  if ((spec.answerWindowS ?? 0) > duration) return 'answer_window_s must not exceed duration_s';
  if (!spec.hasCorrect && spec.answerWindowS) return 'answer_window_s is for quizzes (with correct)';
  if (spec.hasCorrect && spec.allowChange) return 'a quiz does not allow changing the answer';
  return undefined;
}

/** What the poll service runs on. */
export interface PollServiceOptions {
  bus: Bus;
  sequencer: Sequencer;
  store: PlayStateStore;
  logger: Logger;
  now?: () => number;
}

/** Runs polls and quizzes. */
export class PollService {
  private readonly polls = new Map<string, OpenPoll>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;
  /** Settles once the stored polls are loaded (requests wait for it). */
  private ready: Promise<void> = Promise.resolve();

  constructor(private readonly options: PollServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.pushTallies(), tallyIntervalMs);
    this.timer.unref();
    this.ready = resumeWithRetry(
      () => this.resume(),
      () => this.stopped,
      this.options.logger,
      'polls',
    );
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const p of this.polls.values()) clearTimeout(p.timer);
  }

  /** Opens a poll; the same idempotency key (API) answers the same poll. */
  async create(room: string, spec: v1.CreatePoll, by: v1.IUser | null | undefined): Promise<v1.PlayReply> {
    const problem = pollProblem(spec);
    if (problem) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, problem);
    await this.ready;
    const fingerprint = createHash('sha256')
      .update(
        JSON.stringify([
          spec.question,
          spec.options,
          spec.durationS,
          spec.hasCorrect,
          spec.correct,
          spec.answerWindowS,
          spec.membersOnly,
          spec.allowChange,
        ]),
      )
      .digest('base64url');
    const id = spec.idempotencyKey
      ? createHash('sha256').update(`${room}\u0000poll\u0000${spec.idempotencyKey}`).digest('hex').slice(0, 24)
      : randomBytes(12).toString('hex');
    const now = this.now();
    const record: PollRecord = {
      fingerprint,
      spec: toBase64(v1.CreatePoll.encode(spec).finish()),
      by: { id: by?.id ?? '', name: by?.name || (by?.id ?? ''), role: by?.role ?? v1.Role.ROLE_VIEWER },
      openedAtMs: now,
      endsAtMs: now + spec.durationS * 1000,
      openedSeq: 0,
      ended: false,
    };
    const stored = await storeRecord(this.options.store, 'poll', room, id, record, this.options.logger);
    if (stored instanceof v1.PlayReply) return stored;
    const poll = this.polls.get(`${room}/${id}`) ?? this.hold(room, id, stored.record, new Map());
    // Announced once: a retry of a create whose announcement was lost (a crash) announces it now.
    if (!poll.record.openedSeq) await (poll.announcing ??= this.announce(poll));
    return new v1.PlayReply({ duplicate: !stored.created, json: JSON.stringify(this.json(poll)) });
  }

  /** Holds a poll in memory (new, or read from the store with its votes) with its end timer. */
  private hold(room: string, id: string, record: PollRecord, stored: Map<string, StoredBallot>): OpenPoll {
    const spec = v1.CreatePoll.decode(fromBase64(record.spec));
    const poll: OpenPoll = {
      room,
      id,
      record,
      spec,
      ballots: new Map(),
      votes: spec.options.map(() => 0),
      changed: stored.size > 0,
      ended: record.ended,
      result: record.result ? v1.PollResult.decode(fromBase64(record.result)) : undefined,
      timer: undefined,
      inflight: new InFlight(),
      announcing: undefined,
    };
    for (const [userId, b] of stored) {
      if (b.option < 0 || b.option >= poll.votes.length) continue;
      poll.ballots.set(userId, { option: b.option, atMs: b.atMs, user: { id: userId, name: b.name } });
      poll.votes[b.option] = (poll.votes[b.option] ?? 0) + 1;
    }
    this.polls.set(`${room}/${id}`, poll);
    if (poll.ended) {
      this.forgetLater(poll, record.endsAtMs + keepEndedMs - this.now());
    } else {
      poll.timer = setTimeout(() => void this.end(poll), Math.max(0, record.endsAtMs - this.now()) + 5);
      poll.timer.unref();
    }
    return poll;
  }

  /** Sends the `poll` event and stores its seq. */
  private async announce(poll: OpenPoll): Promise<void> {
    const { room, record, spec } = poll;
    poll.record.openedSeq = await this.options.sequencer.append(
      room,
      new v1.Event({
        room,
        actor: { ...record.by },
        poll: {
          id: poll.id,
          question: spec.question.trim(),
          options: spec.options.map((o) => o.trim()),
          endsAtMs: record.endsAtMs,
          quiz: spec.hasCorrect,
          answerWindowS: spec.answerWindowS,
          membersOnly: spec.membersOnly,
          allowChange: spec.allowChange,
          by: { id: record.by.id, name: record.by.name },
        },
      }),
    );
    await this.save(poll);
  }

  private async save(poll: OpenPoll): Promise<void> {
    await saveRecord(this.options.store, 'poll', poll.room, poll.id, poll.record, this.options.logger);
  }

  /** Loads the stored polls: open ones go on (ending at once when their time passed), ended ones stay readable. */
  private async resume(): Promise<void> {
    const held = (room: string, id: string): boolean => this.polls.has(`${room}/${id}`);
    await readStored<PollRecord, StoredBallot>(this.options.store, 'poll', keepEndedMs, this.now(), held, (room, id, record, entries) => {
      const poll = this.hold(room, id, record, entries);
      if (!poll.ended && !record.openedSeq) void (poll.announcing ??= this.announce(poll));
    });
  }

  /** One viewer's vote: kept in memory at once (so a second one is refused), answered once stored. */
  async vote(room: string, pollId: string, option: number, user: v1.IUser | null | undefined, member: boolean): Promise<v1.PlayReply> {
    if (!user?.id) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a vote needs a user');
    await this.ready;
    const poll = this.polls.get(`${room}/${pollId}`);
    if (!poll) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such poll in this room');
    const now = this.now();
    if (poll.ended || now >= poll.record.endsAtMs) return fail(ErrorCode.ERROR_CODE_PLAY_EXPIRED, 'this poll has ended');
    if (poll.spec.membersOnly && !member) return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, 'this poll is for members only');
    if (!Number.isInteger(option) || option < 0 || option >= poll.votes.length) {
      return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `option must be 0 to ${poll.votes.length - 1}`);
    }
    const previous = poll.ballots.get(user.id);
    if (previous) {
      if (previous.option === option) return new v1.PlayReply({});
      if (!poll.spec.allowChange) return fail(ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED, 'you voted already');
    }
    const ballot: Ballot = { option, atMs: now, user: { id: user.id, name: user.name || user.id } };
    this.cast(poll, user.id, ballot);
    const entry: StoredBallot = { option, atMs: now, name: ballot.user.name };
    let stored: boolean;
    try {
      stored = await poll.inflight.track(this.options.store.enter('poll', room, pollId, user.id, entry, !poll.spec.allowChange));
    } catch (err) {
      if (poll.ballots.get(user.id) === ballot) this.cast(poll, user.id, previous);
      this.options.logger.warn({ err: (err as Error).message, room }, 'vote not stored');
      return fail(ErrorCode.ERROR_CODE_UNAVAILABLE, 'your vote was not recorded; vote again');
    }
    if (!stored) {
      // Another core stored this user's vote first.
      if (poll.ballots.get(user.id) === ballot) this.cast(poll, user.id, previous);
      return fail(ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED, 'you voted already');
    }
    return new v1.PlayReply({});
  }

  /** Makes `ballot` the user's vote (none when undefined), keeping the tally. */
  private cast(poll: OpenPoll, userId: string, ballot: Ballot | undefined): void {
    const old = poll.ballots.get(userId);
    if (old) poll.votes[old.option] = (poll.votes[old.option] ?? 1) - 1;
    if (ballot) {
      poll.ballots.set(userId, ballot);
      poll.votes[ballot.option] = (poll.votes[ballot.option] ?? 0) + 1;
    } else poll.ballots.delete(userId);
    poll.changed = true;
  }

  /** The poll as `GET /api/v1/rooms/:room/polls/:id` shows it. */
  async read(room: string, pollId: string): Promise<v1.PlayReply> {
    await this.ready;
    const poll = this.polls.get(`${room}/${pollId}`);
    if (!poll) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such poll in this room');
    return new v1.PlayReply({ json: JSON.stringify(this.json(poll)) });
  }

  /** Quiz winners in answer order: the right option, within the answer window when there is one. */
  private winners(poll: OpenPoll): Ballot[] {
    if (!poll.spec.hasCorrect) return [];
    const windowMs = poll.spec.answerWindowS * 1000;
    return [...poll.ballots.values()]
      .filter((b) => b.option === poll.spec.correct && (windowMs === 0 || b.atMs - poll.record.openedAtMs <= windowMs))
      .sort((a, b) => a.atMs - b.atMs);
  }

  private json(poll: OpenPoll): Record<string, unknown> {
    const quiz = poll.spec.hasCorrect;
    const ended = poll.ended && poll.result !== undefined;
    const winners = ended ? this.winners(poll) : [];
    return {
      id: poll.id,
      room: poll.room,
      question: poll.spec.question.trim(),
      options: poll.spec.options.map((o) => o.trim()),
      quiz,
      members_only: poll.spec.membersOnly,
      allow_change: poll.spec.allowChange,
      answer_window_s: poll.spec.answerWindowS,
      opened_at_ms: poll.record.openedAtMs,
      ends_at_ms: poll.record.endsAtMs,
      status: ended ? 'ended' : 'open',
      votes: poll.votes,
      voters: poll.ballots.size,
      // A quiz's answer and winners are told once it ended.
      ...(quiz && ended ? { correct: poll.spec.correct, winners: winners.length, winner_ids: winners.map((w) => w.user.id) } : {}),
    };
  }

  private async end(poll: OpenPoll): Promise<void> {
    if (poll.ended || this.stopped) return;
    poll.ended = true;
    // Votes answered "done" are in the result; the opening goes out before it.
    await poll.inflight.settled();
    await poll.announcing;
    if (this.stopped) return;
    this.pushTallies(poll);
    const winners = this.winners(poll);
    poll.result = {
      id: poll.id,
      votes: poll.votes,
      voters: poll.ballots.size,
      quiz: poll.spec.hasCorrect,
      correct: poll.spec.hasCorrect ? poll.spec.correct : 0,
      winners: winners.length,
      firstWinners: winners.slice(0, resultWinnersListed).map((w) => w.user),
    };
    await this.options.sequencer.append(poll.room, new v1.Event({ room: poll.room, actor: playEndActor, pollResult: poll.result }));
    // Stored after the event: a crash between the two announces the result again rather than never.
    poll.record.ended = true;
    poll.record.result = toBase64(v1.PollResult.encode(poll.result).finish());
    await this.save(poll);
    this.forgetLater(poll, keepEndedMs);
  }

  private forgetLater(poll: OpenPoll, afterMs: number): void {
    setTimeout(
      () => {
        this.polls.delete(`${poll.room}/${poll.id}`);
        this.options.store.forget('poll', poll.room, poll.id).catch(() => undefined);
      },
      Math.max(0, afterMs),
    ).unref();
  }

  /** Pushes the tally of every poll whose votes changed (or of `only`). */
  private pushTallies(only?: OpenPoll): void {
    for (const poll of only ? [only] : this.polls.values()) {
      if (!poll.changed || (poll.ended && !only)) continue;
      poll.changed = false;
      const event = v1.Event.encode({
        seq: this.options.sequencer.seqOf(poll.room),
        room: poll.room,
        tsMs: this.now(),
        pollTally: { id: poll.id, votes: poll.votes, voters: poll.ballots.size },
      }).finish();
      this.options.bus.publish(subjects.events(poll.room), event);
    }
  }
}
