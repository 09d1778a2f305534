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
 * Votes live in core memory: a core restart loses open polls (docs/api.md).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';
import type { Sequencer } from '../sequencing/sequencer.js';
import { playEndActor } from './play-actor.js';

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

interface OpenPoll {
  room: string;
  id: string;
  fingerprint: string;
  spec: v1.CreatePoll;
  by: { id: string; name: string };
  openedAtMs: number;
  endsAtMs: number;
  ballots: Map<string, Ballot>;
  votes: number[];
  changed: boolean;
  ended: boolean;
  result: v1.IPollResult | undefined;
  timer: NodeJS.Timeout | undefined;
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

/** Runs polls and quizzes. */
export class PollService {
  private readonly polls = new Map<string, OpenPoll>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly options: { bus: Bus; sequencer: Sequencer; logger: Logger; now?: () => number }) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.pushTallies(), tallyIntervalMs);
    this.timer.unref();
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
    const existing = this.polls.get(`${room}/${id}`);
    if (existing) {
      if (existing.fingerprint !== fingerprint)
        return new v1.PlayReply({ conflict: true, message: 'this Idempotency-Key opened a different poll' });
      return new v1.PlayReply({ duplicate: true, json: JSON.stringify(this.json(existing)) });
    }
    const now = this.now();
    const poll: OpenPoll = {
      room,
      id,
      fingerprint,
      spec,
      by: { id: by?.id ?? '', name: by?.name || (by?.id ?? '') },
      openedAtMs: now,
      endsAtMs: now + spec.durationS * 1000,
      ballots: new Map(),
      votes: spec.options.map(() => 0),
      changed: false,
      ended: false,
      result: undefined,
      timer: undefined,
    };
    this.polls.set(`${room}/${id}`, poll);
    await this.options.sequencer.append(
      room,
      new v1.Event({
        room,
        actor: { id: poll.by.id, name: poll.by.name, role: by?.role ?? v1.Role.ROLE_VIEWER },
        poll: {
          id,
          question: spec.question.trim(),
          options: spec.options.map((o) => o.trim()),
          endsAtMs: poll.endsAtMs,
          quiz: spec.hasCorrect,
          answerWindowS: spec.answerWindowS,
          membersOnly: spec.membersOnly,
          allowChange: spec.allowChange,
          by: { id: poll.by.id, name: poll.by.name },
        },
      }),
    );
    poll.timer = setTimeout(() => void this.end(poll), poll.endsAtMs - now + 5);
    poll.timer.unref();
    return new v1.PlayReply({ json: JSON.stringify(this.json(poll)) });
  }

  /** One viewer's vote. */
  vote(room: string, pollId: string, option: number, user: v1.IUser | null | undefined, member: boolean): v1.PlayReply {
    if (!user?.id) return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'a vote needs a user');
    const poll = this.polls.get(`${room}/${pollId}`);
    if (!poll) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such poll in this room');
    const now = this.now();
    if (poll.ended || now >= poll.endsAtMs) return fail(ErrorCode.ERROR_CODE_PLAY_EXPIRED, 'this poll has ended');
    if (poll.spec.membersOnly && !member) return fail(ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE, 'this poll is for members only');
    if (!Number.isInteger(option) || option < 0 || option >= poll.votes.length) {
      return fail(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, `option must be 0 to ${poll.votes.length - 1}`);
    }
    const previous = poll.ballots.get(user.id);
    if (previous) {
      if (previous.option === option) return new v1.PlayReply({});
      if (!poll.spec.allowChange) return fail(ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED, 'you voted already');
      poll.votes[previous.option] = (poll.votes[previous.option] ?? 1) - 1;
    }
    poll.ballots.set(user.id, { option, atMs: now, user: { id: user.id, name: user.name || user.id } });
    poll.votes[option] = (poll.votes[option] ?? 0) + 1;
    poll.changed = true;
    return new v1.PlayReply({});
  }

  /** The poll as `GET /api/v1/rooms/:room/polls/:id` shows it. */
  read(room: string, pollId: string): v1.PlayReply {
    const poll = this.polls.get(`${room}/${pollId}`);
    if (!poll) return fail(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such poll in this room');
    return new v1.PlayReply({ json: JSON.stringify(this.json(poll)) });
  }

  /** Quiz winners in answer order: the right option, within the answer window when there is one. */
  private winners(poll: OpenPoll): Ballot[] {
    if (!poll.spec.hasCorrect) return [];
    const windowMs = poll.spec.answerWindowS * 1000;
    return [...poll.ballots.values()]
      .filter((b) => b.option === poll.spec.correct && (windowMs === 0 || b.atMs - poll.openedAtMs <= windowMs))
      .sort((a, b) => a.atMs - b.atMs);
  }

  private json(poll: OpenPoll): Record<string, unknown> {
    const quiz = poll.spec.hasCorrect;
    const ended = poll.ended;
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
      opened_at_ms: poll.openedAtMs,
      ends_at_ms: poll.endsAtMs,
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
    setTimeout(() => this.polls.delete(`${poll.room}/${poll.id}`), keepEndedMs).unref();
  }

  /** Pushes the tally of every poll whose votes changed (or of `only`). */
  private pushTallies(only?: OpenPoll): void {
    for (const poll of only ? [only] : this.polls.values()) {
      if (!poll.changed) continue;
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
