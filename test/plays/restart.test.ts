/**
 * Plays survive a core restart (issue 15, durability): `barrage core` and a
 * `barrage edge` over a real nats-server; a poll, a lottery and a keyword red
 * packet are open and entered when core is SIGKILLed and started again. The
 * votes and entrants given before the crash are kept (a second vote or entry
 * is still refused), the ones after it are added, the results count exactly
 * every vote and entrant, the lottery's published seed still reproduces its
 * winners, and a viewer who sent the keyword before the crash may still grab.
 */
import { connect as natsConnect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { drawWinners, seedCommitment, sortEntrants } from '../../core/plays/lottery-draw.js';
import { KvPlayStateStore } from '../../core/plays/play-state-store-kv.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess, token } from '../nats/helpers/roles.js';
import { openPlaySocket } from './sockets.js';
import type { PlaySocket } from './sockets.js';

const apiKey = 'r'.repeat(32);
const env = { BARRAGE_API_KEY: apiKey };
const room = 'restart';

interface Viewer extends PlaySocket {
  user: string;
  play(frame: v1.IClientFrame): Promise<v1.PlayAnswer>;
}

async function viewer(edge: RoleProcess, user: string): Promise<Viewer> {
  const socket = await openPlaySocket(edge.wsUrl(room, await token({ room, user })));
  const play = async (frame: v1.IClientFrame): Promise<v1.PlayAnswer> => {
    const before = socket.answers.length;
    socket.ws.send(v1.ClientFrame.encode(frame).finish());
    await expect.poll(() => socket.answers.length, { timeout: 15_000 }).toBeGreaterThan(before);
    return socket.answers[before] as v1.PlayAnswer;
  };
  return { ...socket, user, play };
}

describe('plays - a core restart mid-poll and mid-lottery', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edge: RoleProcess;
  const viewers: Viewer[] = [];

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'rscore', nats.urls, env);
    edge = await RoleProcess.start('edge', 'rsedge', nats.urls, env);
  }, 60_000);
  afterAll(async () => {
    for (const v of viewers) v.ws.close();
    await Promise.all([edge, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  const post = async (path: string, body: unknown, key?: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`http://127.0.0.1:${edge.port}/api/v1/rooms/${room}/${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as Record<string, unknown>;
  };

  it('plays - votes, entrants and keyword eligibility given before the crash are kept; the results count every one exactly once', async () => {
    const poll = await post('polls', { question: 'Which?', options: ['a', 'b', 'c'], duration_s: 25 });
    const lottery = await post('lotteries', { prize: 'mug', winners: 4, duration_s: 25, entry: 'any' });
    const packet = await post('red-packets', { sender: { id: 'host' }, total_cents: 900, count: 9, keyword: '加油', expires_s: 60 }, 'rp');
    for (let i = 0; i < 16; i++) viewers.push(await viewer(edge, `v${i}`));
    const before = viewers.slice(0, 10);
    const after = viewers.slice(10);
    const sent = [0, 0, 0];
    const vote = async (v: Viewer, option: number) => {
      expect(await v.play({ vote: { pollId: String(poll['id']), option } })).toMatchObject({ error: ErrorCode.ERROR_CODE_UNSPECIFIED });
      sent[option] = (sent[option] ?? 0) + 1;
    };
    const join = async (v: Viewer) =>
      expect(await v.play({ joinLottery: { id: String(lottery['id']) } })).toMatchObject({ error: ErrorCode.ERROR_CODE_UNSPECIFIED });
    await Promise.all(before.map((v, i) => vote(v, i % 3)));
    await Promise.all(before.map(join));
    // Three viewers send the keyword; core stores their eligibility (read here from the bucket itself).
    const eligible = viewers.slice(0, 3);
    for (const v of eligible) v.ws.send(v1.ClientFrame.encode({ sendDanmaku: { text: `主播加油 ${v.user}` } }).finish());
    const nc = await natsConnect({ servers: nats.urls });
    const state = await KvPlayStateStore.open(nc, { replicas: 1, ttlMs: 7 * 86_400_000 });
    await expect.poll(async () => (await state.entries('keyword', room, String(packet['id']))).size, { timeout: 10_000 }).toBe(3);
    await nc.close();
    await core.stop('SIGKILL');
    core = await RoleProcess.start('core', 'rscore2', nats.urls, env);

    // The same viewers again: refused, whatever option; the rest vote and join now.
    const first = before[0] as Viewer;
    expect(await first.play({ vote: { pollId: String(poll['id']), option: 2 } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED,
    });
    expect(await first.play({ joinLottery: { id: String(lottery['id']) } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED,
    });
    await Promise.all(after.map((v, i) => vote(v, (i + 1) % 3)));
    await Promise.all(after.map(join));
    // Eligible before the crash: a share; never sent the keyword: not eligible.
    for (const v of eligible) {
      const grab = await v.play({ grabRedPacket: { id: String(packet['id']) } });
      expect(grab.error).toBe(ErrorCode.ERROR_CODE_UNSPECIFIED);
      expect(Number(grab.amountCents)).toBeGreaterThan(0);
    }
    expect(await (viewers[5] as Viewer).play({ grabRedPacket: { id: String(packet['id']) } })).toMatchObject({
      error: ErrorCode.ERROR_CODE_PLAY_NOT_ELIGIBLE,
    });

    const watcher = viewers[15] as Viewer;
    await expect.poll(() => watcher.events.find((e) => e.pollResult)?.pollResult?.votes, { timeout: 40_000 }).toEqual(sent);
    expect(watcher.events.filter((e) => e.pollResult)[0]?.pollResult?.voters).toBe(16);
    await expect.poll(() => watcher.events.some((e) => e.lotteryResult), { timeout: 15_000 }).toBe(true);
    const result = watcher.events.find((e) => e.lotteryResult)?.lotteryResult as v1.LotteryResult;
    expect(result.entrants).toBe(16);
    const sorted = sortEntrants(viewers.map((v) => v.user));
    const seed = Buffer.from(result.seed, 'hex');
    expect(seedCommitment(seed)).toBe(lottery['seed_sha256']);
    expect(result.winners.map((w) => w.id)).toEqual(drawWinners(seed, sorted, 4));
  }, 120_000);
});
