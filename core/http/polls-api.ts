/**
 * The polls, quizzes and lotteries API for site backends (docs/api.md):
 *
 *   POST /api/v1/rooms/:room/polls            open a poll or quiz (Idempotency-Key optional)
 *   GET  /api/v1/rooms/:room/polls/:id        votes, and a quiz's answer and winners once ended
 *   POST /api/v1/rooms/:room/lotteries        open a lottery (Idempotency-Key optional)
 *   GET  /api/v1/rooms/:room/lotteries/:id    entrants count; once drawn: seed, entrants, winners
 *
 * Mounted on every edge; each request goes to core over the bus.
 */
import { v1 } from '../../proto/index.js';
import type { Route, RouteRequest, RouteResponse } from '../../domain/http.js';
import { bearerAuth, problem, unauthorized } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import type { Bus } from '../../domain/bus.js';
import { idempotentBody } from './idempotent-body.js';
import { createHandler, playAsker, readHandler } from './plays-api.js';

type Parsed = { request: v1.PlayRequest } | { error: RouteResponse };
const invalid = (message: string): Parsed => ({ error: problem(400, 'INVALID_ARGUMENT', message) });
/** A whole number in [0, 2^31): larger or negative ones would wrap on the wire. */
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v < 2 ** 31;

function parsePoll(req: RouteRequest): Parsed {
  const read = idempotentBody(req, { optional: true });
  if ('error' in read) return read;
  const { key, body } = read;
  const options = body['options'];
  if (typeof body['question'] !== 'string') return invalid('"question" must be a string');
  if (!Array.isArray(options) || !options.every((o) => typeof o === 'string')) return invalid('"options" must be an array of strings');
  const duration = body['duration_s'];
  const correct = body['correct'];
  const window = body['answer_window_s'] ?? 0;
  if (!isCount(duration)) return invalid('"duration_s" must be a whole number');
  if (correct !== undefined && !isCount(correct)) return invalid('"correct" must be the index of an option');
  if (!isCount(window)) return invalid('"answer_window_s" must be a whole number');
  const membersOnly = body['members_only'] ?? false;
  const allowChange = body['allow_change'] ?? false;
  if (typeof membersOnly !== 'boolean' || typeof allowChange !== 'boolean') {
    return invalid('"members_only" and "allow_change" must be true or false');
  }
  return {
    request: new v1.PlayRequest({
      user: { id: 'api', name: 'api' },
      createPoll: {
        question: body['question'],
        options: options as string[],
        durationS: duration,
        hasCorrect: correct !== undefined,
        correct: correct ?? 0,
        answerWindowS: window,
        membersOnly,
        allowChange,
        idempotencyKey: key,
      },
    }),
  };
}

const entries: Record<string, v1.LotteryEntry> = {
  any: v1.LotteryEntry.LOTTERY_ENTRY_ANY,
  keyword: v1.LotteryEntry.LOTTERY_ENTRY_KEYWORD,
  gift: v1.LotteryEntry.LOTTERY_ENTRY_GIFT,
};

function parseLottery(req: RouteRequest): Parsed {
  const read = idempotentBody(req, { optional: true });
  if ('error' in read) return read;
  const { key, body } = read;
  if (typeof body['prize'] !== 'string') return invalid('"prize" must be a string');
  const winners = body['winners'];
  const duration = body['duration_s'];
  if (!isCount(winners) || !isCount(duration)) return invalid('"winners" and "duration_s" must be whole numbers');
  const entry = body['entry'] ?? 'any';
  if (typeof entry !== 'string' || !(entry in entries)) return invalid('"entry" must be "any", "keyword" or "gift"');
  const keyword = body['keyword'] ?? '';
  const giftId = body['gift_id'] ?? '';
  if (typeof keyword !== 'string' || typeof giftId !== 'string') return invalid('"keyword" and "gift_id" must be strings');
  const membersOnly = body['members_only'] ?? false;
  if (typeof membersOnly !== 'boolean') return invalid('"members_only" must be true or false');
  return {
    request: new v1.PlayRequest({
      user: { id: 'api', name: 'api' },
      createLottery: {
        prize: body['prize'],
        winners,
        durationS: duration,
        entry: entries[entry],
        keyword,
        giftId,
        membersOnly,
        idempotencyKey: key,
      },
    }),
  };
}

const optionalKey = { description: 'optional: the same key opens the same poll or lottery (a retry answers 200)', required: false };
const errors = {
  400: problemDoc('BAD_ROOM, IDEMPOTENCY_KEY_REQUIRED (malformed), INVALID_JSON, INVALID_ARGUMENT (the message names the field)'),
  409: problemDoc('IDEMPOTENCY_KEY_REUSED'),
  503: problemDoc('UNAVAILABLE: retry'),
};
const pollSchema = s.object(
  {
    id: s.string('the poll id (vote{poll_id})'),
    question: s.string(),
    options: s.array(s.string()),
    quiz: s.boolean(),
    status: s.enum(['open', 'ended']),
    votes: s.array(s.integer(), 'per option'),
    voters: s.integer(),
    ends_at_ms: s.integer(),
    correct: s.integer('quiz, once ended'),
    winners: s.integer('quiz, once ended: how many answered right in time'),
    winner_ids: s.array(s.string(), 'quiz, once ended: in answer order'),
  },
  ['id', 'status', 'votes'],
);
const lotterySchema = s.object(
  {
    id: s.string('the lottery id (join_lottery{id})'),
    prize: s.string(),
    winners_count: s.integer(),
    entry: s.enum(['any', 'keyword', 'gift']),
    status: s.enum(['open', 'drawn']),
    seed_sha256: s.string('hex SHA-256 of the secret seed, published at the start'),
    entrants_count: s.integer(),
    seed: s.string('once drawn: the seed (hex)'),
    entrants_sha256: s.string('once drawn: hex SHA-256 of the sorted entrant ids joined by "\\n"'),
    entrants: s.array(s.string(), 'once drawn: every entrant id, sorted by UTF-8 bytes'),
    winners: s.array(s.object({ id: s.string(), name: s.string() }), 'once drawn, in draw order'),
  },
  ['id', 'status', 'seed_sha256'],
);

/** The poll and lottery routes, checking `apiKey` and forwarding to core over `bus`. */
export function pollRoutes(options: { apiKey: string; bus: Bus }): Route[] {
  const authorized = bearerAuth(options.apiKey);
  const guard = { authorize: (headers: Readonly<Record<string, string>>) => authorized({ headers }), unauthorized };
  const ask = playAsker(options.bus);
  return [
    {
      method: 'post',
      pattern: '/api/v1/rooms/:room/polls',
      maxBody: 8 * 1024,
      ...guard,
      doc: {
        tag: 'plays',
        summary: 'Open a poll, or a quiz (with correct)',
        description:
          'Viewers vote with vote{poll_id, option}, once each (changed only with allow_change; never in a quiz). Tallies are ' +
          'pushed at most once a second (poll_tally); the end is a poll_result event with, for a quiz, the right option and ' +
          'the winners (answered right within answer_window_s of the start, when set).',
        params: { room: 'room id' },
        headers: { 'Idempotency-Key': optionalKey },
        body: {
          schema: s.object(
            {
              question: s.string('1-200 characters'),
              options: s.array(s.string('1-80 characters'), '2 to 10'),
              duration_s: s.integer('5 to 86,400'),
              correct: s.integer('a quiz: the index of the right option'),
              answer_window_s: s.integer('a quiz: answers later than this after the start do not win (0: any time)'),
              members_only: s.boolean(),
              allow_change: s.boolean('not in a quiz'),
            },
            ['question', 'options', 'duration_s'],
          ),
        },
        responses: { 200: { description: 'a retry', schema: pollSchema }, 201: { description: 'opened', schema: pollSchema }, ...errors },
      },
      handler: createHandler(ask, parsePoll, 'poll'),
    },
    {
      method: 'get',
      pattern: '/api/v1/rooms/:room/polls/:id',
      ...guard,
      doc: {
        tag: 'plays',
        summary: 'A poll: votes so far, and a quiz’s answer and winners once it ended',
        params: { room: 'room id', id: 'the poll id' },
        responses: { 200: { description: 'the poll', schema: pollSchema }, 400: problemDoc('BAD_ROOM'), 404: problemDoc('NOT_FOUND') },
      },
      handler: readHandler(ask, (id) => ({ getPoll: id }), 'poll'),
    },
    {
      method: 'post',
      pattern: '/api/v1/rooms/:room/lotteries',
      maxBody: 4 * 1024,
      ...guard,
      doc: {
        tag: 'plays',
        summary: 'Open a lottery (天选时刻) with a verifiable draw',
        description:
          'Entry by a danmaku containing `keyword`, by sending gift `gift_id`, or `any` (join_lottery). The lottery event ' +
          'publishes the SHA-256 of a secret seed; the result publishes the seed, the entrants hash and the winners, drawn ' +
          'by the procedure docs/api.md gives, so anyone can check them.',
        params: { room: 'room id' },
        headers: { 'Idempotency-Key': optionalKey },
        body: {
          schema: s.object(
            {
              prize: s.string('1-100 characters'),
              winners: s.integer('1 to 1,000'),
              duration_s: s.integer('5 to 86,400'),
              entry: s.enum(['any', 'keyword', 'gift'], 'default any'),
              keyword: s.string('entry keyword: 1-32 characters'),
              gift_id: s.string('entry gift: a gift of the catalogue'),
              members_only: s.boolean(),
            },
            ['prize', 'winners', 'duration_s'],
          ),
        },
        responses: {
          200: { description: 'a retry', schema: lotterySchema },
          201: { description: 'opened', schema: lotterySchema },
          ...errors,
        },
      },
      handler: createHandler(ask, parseLottery, 'lottery'),
    },
    {
      method: 'get',
      pattern: '/api/v1/rooms/:room/lotteries/:id',
      ...guard,
      doc: {
        tag: 'plays',
        summary: 'A lottery: entrants so far; once drawn the seed, the sorted entrants and the winners',
        params: { room: 'room id', id: 'the lottery id' },
        responses: {
          200: { description: 'the lottery', schema: lotterySchema },
          400: problemDoc('BAD_ROOM'),
          404: problemDoc('NOT_FOUND'),
        },
      },
      handler: readHandler(ask, (id) => ({ getLottery: id }), 'lottery'),
    },
  ];
}
