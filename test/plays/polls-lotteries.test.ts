/**
 * Polls, quizzes and lotteries in one process: a poll's tally equals the
 * votes sent (one per user, changed only when allowed), a quiz's winners are
 * exactly those who chose the right option within the answer window, a
 * host may start a poll over the socket and a viewer may not, and a
 * lottery's published seed and entrants reproduce its winners by the
 * procedure docs/api.md gives (re-implemented here, not imported).
 */
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/client.js';

const apiKey = 'q'.repeat(32);

interface PlayJson {
  id: string;
  status: string;
  votes?: number[];
  voters?: number;
  correct?: number;
  winners?: number | Array<{ id: string }>;
  winner_ids?: string[];
  seed?: string;
  seed_sha256?: string;
  entrants_sha256?: string;
  entrants?: string[];
  entrants_count?: number;
}

/** The draw of docs/api.md, written again from the text. */
function rederive(seedHex: string, entrants: string[], winners: number): string[] {
  const sorted = [...entrants].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const hash = createHash('sha256').update(sorted.join('\n')).digest('hex');
  const seed = Buffer.from(seedHex, 'hex');
  for (let k = 0; k < Math.min(winners, sorted.length); k++) {
    const d = createHmac('sha256', seed).update(`${hash}:${k}`).digest();
    const j = k + (d.readUIntBE(0, 6) % (sorted.length - k));
    const t = sorted[k] as string;
    sorted[k] = sorted[j] as string;
    sorted[j] = t;
  }
  return sorted.slice(0, Math.min(winners, sorted.length));
}

describe('polls and lotteries - single process', () => {
  let server: TestServer;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_API_KEY: apiKey, BARRAGE_DANMAKU_RATE: '50', BARRAGE_DANMAKU_BURST: '50' });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  const connect = async (room: string, user: string, role: 'viewer' | 'host' | 'moderator' | 'admin' = 'viewer', member = false) => {
    const c = await TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user, role, member })));
    clients.push(c);
    return c;
  };
  const post = async (path: string, body: unknown, key?: string) => {
    const res = await fetch(`${server.url}/api/v1/rooms/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as PlayJson & { error?: { message: string } } };
  };
  const get = async (path: string) => {
    const res = await fetch(`${server.url}/api/v1/rooms/${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
    return (await res.json()) as PlayJson;
  };
  const answers = (c: TestClient) => c.frames.filter((f) => f.playAnswer).map((f) => f.playAnswer as v1.PlayAnswer);
  const play = async (c: TestClient, frame: v1.IClientFrame): Promise<v1.PlayAnswer> => {
    const before = answers(c).length;
    c.send(frame);
    await c.until(() => answers(c).length > before, 5_000, 'play answer');
    return answers(c)[before] as v1.PlayAnswer;
  };

  it('polls - the tally equals the votes sent; a second vote is refused unless changing is allowed', async () => {
    const watcher = await connect('pl1', 'watcher');
    const fixed = await post('pl1/polls', { question: 'Best?', options: ['a', 'b', 'c'], duration_s: 5 }, 'poll-1');
    expect(fixed.status).toBe(201);
    expect((await post('pl1/polls', { question: 'Best?', options: ['a', 'b', 'c'], duration_s: 5 }, 'poll-1')).status).toBe(200);
    expect((await post('pl1/polls', { question: 'Other', options: ['a', 'b'], duration_s: 5 }, 'poll-1')).status).toBe(409);
    const changing = await post('pl1/polls', { question: 'Change?', options: ['x', 'y'], duration_s: 5, allow_change: true });
    const voters = await Promise.all(Array.from({ length: 9 }, (_, i) => connect('pl1', `v${i}`)));
    for (const [i, v] of voters.entries()) {
      expect(await play(v, { vote: { pollId: fixed.body.id, option: i % 3 } })).toMatchObject({ error: ErrorCode.ERROR_CODE_UNSPECIFIED });
    }
    // The same option again is fine (idempotent); another one is refused.
    expect(await play(voters[0] as TestClient, { vote: { pollId: fixed.body.id, option: 0 } })).toMatchObject({ error: 0 });
    expect(await play(voters[0] as TestClient, { vote: { pollId: fixed.body.id, option: 1 } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED,
    });
    expect(await play(voters[0] as TestClient, { vote: { pollId: fixed.body.id, option: 3 } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
    });
    // Changing, where allowed, moves the vote.
    const c = voters[1] as TestClient;
    await play(c, { vote: { pollId: changing.body.id, option: 0 } });
    await play(c, { vote: { pollId: changing.body.id, option: 1 } });
    await expect.poll(async () => (await get(`pl1/polls/${changing.body.id}`)).votes).toEqual([0, 1]);

    await watcher.until(() => watcher.events.some((e) => e.pollTally?.id === fixed.body.id && e.pollTally.voters === 9), 5_000, 'tally');
    await watcher.until(() => watcher.events.some((e) => e.pollResult?.id === fixed.body.id), 10_000, 'result');
    const result = watcher.events.find((e) => e.pollResult?.id === fixed.body.id)?.pollResult as v1.PollResult;
    expect(result.votes).toEqual([3, 3, 3]);
    expect(result.voters).toBe(9);
    expect(result.quiz).toBe(false);
    expect(await play(c, { vote: { pollId: fixed.body.id, option: 0 } })).toMatchObject({ error: ErrorCode.ERROR_CODE_PLAY_EXPIRED });
    // Tallies are at most one a second per poll.
    const tallies = watcher.events.filter((e) => e.pollTally?.id === fixed.body.id).map((e) => Number(e.tsMs));
    for (let i = 1; i < tallies.length; i++) expect((tallies[i] as number) - (tallies[i - 1] as number)).toBeGreaterThanOrEqual(900);
  }, 20_000);

  it('quizzes - the winners are those who chose the right option within the answer window', async () => {
    const watcher = await connect('pl2', 'watcher');
    const quiz = await post('pl2/polls', { question: '1+1?', options: ['1', '2', '3'], duration_s: 6, correct: 1, answer_window_s: 2 });
    expect(quiz.status).toBe(201);
    const early = await Promise.all(['e0', 'e1', 'e2', 'e3'].map((u) => connect('pl2', u)));
    await play(early[0] as TestClient, { vote: { pollId: quiz.body.id, option: 1 } });
    await play(early[1] as TestClient, { vote: { pollId: quiz.body.id, option: 1 } });
    await play(early[2] as TestClient, { vote: { pollId: quiz.body.id, option: 0 } });
    // A quiz answer cannot be changed.
    expect(await play(early[2] as TestClient, { vote: { pollId: quiz.body.id, option: 1 } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED,
    });
    // While open, the answer is not told.
    expect((await get(`pl2/polls/${quiz.body.id}`)).correct).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2_500)); // past the answer window: the point of the test
    const late = await connect('pl2', 'late');
    await play(late, { vote: { pollId: quiz.body.id, option: 1 } });
    await watcher.until(() => watcher.events.some((e) => e.pollResult?.id === quiz.body.id), 10_000, 'quiz result');
    const result = watcher.events.find((e) => e.pollResult?.id === quiz.body.id)?.pollResult as v1.PollResult;
    expect(result).toMatchObject({ quiz: true, correct: 1, winners: 2, voters: 4 });
    expect(result.firstWinners.map((u) => u.id).sort()).toEqual(['e0', 'e1']);
    expect(await get(`pl2/polls/${quiz.body.id}`)).toMatchObject({ correct: 1, winners: 2, winner_ids: ['e0', 'e1'] });
  }, 20_000);

  it('lotteries - a host or admin starts one over the socket; a viewer or moderator is FORBIDDEN, a guest READ_ONLY', async () => {
    const host = await connect('pl5', 'host', 'host');
    const admin = await connect('pl5', 'boss', 'admin');
    const viewer = await connect('pl5', 'viewer');
    const moderator = await connect('pl5', 'mod', 'moderator');
    const guest = await TestClient.connect(server.wsUrl('pl5'));
    clients.push(guest);
    const start = { startLottery: { prize: 'A signed mug', winners: 1, durationS: 30, entry: v1.LotteryEntry.LOTTERY_ENTRY_ANY } };
    const started = await play(host, start);
    expect(started.error).toBe(ErrorCode.ERROR_CODE_UNSPECIFIED);
    expect(started.playId).toMatch(/^[0-9a-f]{24}$/);
    await viewer.until(() => viewer.events.some((e) => e.lottery?.id === started.playId), 5_000, 'lottery event');
    const opened = viewer.events.find((e) => e.lottery?.id === started.playId) as v1.Event;
    expect(opened.lottery).toMatchObject({ prize: 'A signed mug', winners: 1 });
    expect(opened.actor).toMatchObject({ id: 'host', role: v1.Role.ROLE_HOST });
    // Each start opens its own lottery (no idempotency key over the socket).
    const second = await play(admin, {
      startLottery: { ...start.startLottery, entry: v1.LotteryEntry.LOTTERY_ENTRY_KEYWORD, keyword: '666' },
    });
    expect(second.error).toBe(ErrorCode.ERROR_CODE_UNSPECIFIED);
    expect(second.playId).not.toBe(started.playId);
    expect(await play(viewer, start)).toMatchObject({ error: ErrorCode.ERROR_CODE_FORBIDDEN });
    expect(await play(moderator, start)).toMatchObject({ error: ErrorCode.ERROR_CODE_FORBIDDEN });
    expect(await play(guest, start)).toMatchObject({ error: ErrorCode.ERROR_CODE_READ_ONLY });
    for (const [bad, message] of [
      [{ ...start.startLottery, winners: 0 }, /winners/],
      [{ ...start.startLottery, prize: '' }, /prize/],
      [{ ...start.startLottery, durationS: 1 }, /duration_s/],
      [{ ...start.startLottery, entry: v1.LotteryEntry.LOTTERY_ENTRY_GIFT, giftId: 'no-such-gift' }, /catalogue/],
      [{ ...start.startLottery, entry: 9 as v1.LotteryEntry }, /entry/],
    ] as Array<[v1.ICreateLottery, RegExp]>) {
      const refused = await play(host, { startLottery: bad });
      expect(refused.error).toBe(ErrorCode.ERROR_CODE_INVALID_ARGUMENT);
      expect(refused.message).toMatch(message);
    }
    // The viewers join the one the host opened.
    expect(await play(viewer, { joinLottery: { id: started.playId } })).toMatchObject({ error: ErrorCode.ERROR_CODE_UNSPECIFIED });
  });

  it('polls - a host starts one over the socket; a viewer or moderator is FORBIDDEN; bad polls are refused with the field', async () => {
    const host = await connect('pl3', 'host', 'host');
    const viewer = await connect('pl3', 'viewer');
    const moderator = await connect('pl3', 'mod', 'moderator');
    const start = { startPoll: { question: 'Next game?', options: ['A', 'B'], durationS: 30 } };
    const started = await play(host, start);
    expect(started.error).toBe(ErrorCode.ERROR_CODE_UNSPECIFIED);
    expect(started.playId).toMatch(/^[0-9a-f]{24}$/);
    await viewer.until(() => viewer.events.some((e) => e.poll?.id === started.playId), 5_000, 'poll event');
    expect(await play(viewer, start)).toMatchObject({ error: ErrorCode.ERROR_CODE_FORBIDDEN });
    expect(await play(moderator, start)).toMatchObject({ error: ErrorCode.ERROR_CODE_FORBIDDEN });
    expect(await play(host, { startPoll: { question: 'x', options: ['only one'], durationS: 30 } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_INVALID_ARGUMENT,
    });
    expect(await play(viewer, { vote: { pollId: 'feedbeef', option: 0 } })).toMatchObject({ error: ErrorCode.ERROR_CODE_NOT_FOUND });
    expect(await play(viewer, { vote: { pollId: '', option: 0 } })).toMatchObject({ error: ErrorCode.ERROR_CODE_INVALID_ARGUMENT });
    const guest = await TestClient.connect(server.wsUrl('pl3'));
    clients.push(guest);
    expect(await play(guest, { vote: { pollId: started.playId, option: 0 } })).toMatchObject({ error: ErrorCode.ERROR_CODE_READ_ONLY });
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ question: '', options: ['a', 'b'], duration_s: 10 }, /question/],
      [{ question: 'q', options: ['a'], duration_s: 10 }, /options/],
      [{ question: 'q', options: Array(11).fill('o'), duration_s: 10 }, /options/],
      [{ question: 'q', options: ['a', ''], duration_s: 10 }, /option/],
      [{ question: 'q', options: ['a', 'b'], duration_s: 1 }, /duration_s/],
      [{ question: 'q', options: ['a', 'b'], duration_s: -5 }, /duration_s/],
      [{ question: 'q', options: ['a', 'b'], duration_s: 10, correct: 2 }, /correct/],
      [{ question: 'q', options: ['a', 'b'], duration_s: 10, correct: 0, allow_change: true }, /quiz/],
      [{ question: 'q', options: ['a', 'b'], duration_s: 10, answer_window_s: 5 }, /quizzes/],
      [{ question: 'q', options: [1, 2], duration_s: 10 }, /options/],
    ];
    for (const [body, message] of bad) {
      const res = await post('pl3/polls', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error?.message, JSON.stringify(body)).toMatch(message);
    }
  });

  it('lotteries - each user enters once; the published seed and entrants reproduce the winners', async () => {
    const watcher = await connect('lt1', 'watcher');
    const opened = await post('lt1/lotteries', { prize: 'A signed poster', winners: 3, duration_s: 5, entry: 'any' });
    expect(opened.status).toBe(201);
    await watcher.until(() => watcher.events.some((e) => e.lottery), 5_000, 'lottery event');
    const announced = watcher.events.find((e) => e.lottery)?.lottery as v1.Lottery;
    expect(announced.seedSha256).toBe(opened.body.seed_sha256);
    const users = await Promise.all(Array.from({ length: 12 }, (_, i) => connect('lt1', `用户${i}`)));
    for (const u of users) expect(await play(u, { joinLottery: { id: opened.body.id } })).toMatchObject({ error: 0 });
    expect(await play(users[0] as TestClient, { joinLottery: { id: opened.body.id } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED,
    });
    await watcher.until(() => watcher.events.some((e) => e.lotteryResult), 10_000, 'draw');
    const result = watcher.events.find((e) => e.lotteryResult)?.lotteryResult as v1.LotteryResult;
    expect(result.entrants).toBe(12);
    // Anyone can check: the seed matches its commitment, the entrants their hash, the winners the procedure.
    expect(createHash('sha256').update(Buffer.from(result.seed, 'hex')).digest('hex')).toBe(announced.seedSha256);
    const state = await get(`lt1/lotteries/${opened.body.id}`);
    expect(state.entrants).toHaveLength(12);
    expect(
      createHash('sha256')
        .update((state.entrants as string[]).join('\n'))
        .digest('hex'),
    ).toBe(result.entrantsSha256);
    expect(result.winners.map((w) => w.id)).toEqual(rederive(result.seed, state.entrants as string[], 3));
    expect(new Set(result.winners.map((w) => w.id)).size).toBe(3);
    expect(await play(users[1] as TestClient, { joinLottery: { id: opened.body.id } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_PLAY_EXPIRED,
    });
  }, 20_000);

  it('lotteries - keyword entry counts danmaku sent after the start; gift lotteries need a known gift; bad input refused', async () => {
    const watcher = await connect('lt2', 'watcher');
    const before = await connect('lt2', 'before');
    before.danmaku('我要 抽奖 early');
    await before.until(() => before.texts().length > 0, 5_000, 'early danmaku');
    const opened = await post('lt2/lotteries', { prize: 'Skin', winners: 5, duration_s: 5, entry: 'keyword', keyword: '抽奖' });
    expect(opened.status).toBe(201);
    const a = await connect('lt2', 'a');
    const b = await connect('lt2', 'b');
    a.danmaku('抽奖!');
    a.danmaku('抽奖 again');
    b.danmaku('nothing');
    expect(await play(b, { joinLottery: { id: opened.body.id } })).toMatchObject({ error: ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE });
    await watcher.until(() => watcher.events.some((e) => e.lotteryResult), 10_000, 'draw');
    const result = watcher.events.find((e) => e.lotteryResult)?.lotteryResult as v1.LotteryResult;
    expect(result.entrants).toBe(1);
    expect(result.winners.map((w) => w.id)).toEqual(['a']);

    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ prize: '', winners: 1, duration_s: 10 }, /prize/],
      [{ prize: 'p', winners: 0, duration_s: 10 }, /winners/],
      [{ prize: 'p', winners: 1_001, duration_s: 10 }, /winners/],
      [{ prize: 'p', winners: -1, duration_s: 10 }, /winners/],
      [{ prize: 'p', winners: 1, duration_s: 100_000 }, /duration_s/],
      [{ prize: 'p', winners: 1, duration_s: 10, entry: 'keyword' }, /keyword/],
      [{ prize: 'p', winners: 1, duration_s: 10, entry: 'gift', gift_id: 'no-such-gift' }, /catalogue/],
      [{ prize: 'p', winners: 1, duration_s: 10, entry: 'dance' }, /entry/],
    ];
    for (const [body, message] of bad) {
      const res = await post('lt2/lotteries', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error?.message, JSON.stringify(body)).toMatch(message);
    }
    expect((await post('lt2/lotteries', { prize: 'p', winners: 1, duration_s: 10, entry: 'gift', gift_id: 'rocket' })).status).toBe(201);
  }, 20_000);
});
