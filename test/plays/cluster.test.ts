/**
 * Polls and lotteries across edges: `barrage core` and two `barrage edge`
 * processes over a real nats-server. Viewers on both edges vote (each once;
 * a second vote through the other edge is refused) and the final tally equals
 * the votes sent; a lottery's entrants from both edges are drawn once each.
 */
import type WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess, token } from '../nats/helpers/roles.js';
import { openPlaySocket } from './sockets.js';

const apiKey = 'c'.repeat(32);
const env = { BARRAGE_API_KEY: apiKey };

const open = openPlaySocket;

describe('plays - across two edges over NATS', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let a: RoleProcess;
  let b: RoleProcess;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'plcore', nats.urls, env);
    [a, b] = await Promise.all([RoleProcess.start('edge', 'pla', nats.urls, env), RoleProcess.start('edge', 'plb', nats.urls, env)]);
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await Promise.all([a, b, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${a.port}/api/v1/rooms/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  };

  it('plays - a poll voted through both edges tallies exactly the votes sent; one vote per user across edges', async () => {
    const room = 'xpoll';
    const poll = await post(`${room}/polls`, { question: 'Which?', options: ['a', 'b', 'c'], duration_s: 8 });
    const viewers = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const t = await token({ room, user: `v${i}` });
        const s = await open((i % 2 === 0 ? a : b).wsUrl(room, t));
        sockets.push(s.ws);
        return { ...s, i, t };
      }),
    );
    const sent = [0, 0, 0];
    for (const v of viewers) {
      const option = v.i % 3 === 0 ? 0 : v.i % 3 === 1 ? 1 : 2;
      sent[option] = (sent[option] ?? 0) + 1;
      v.ws.send(v1.ClientFrame.encode({ vote: { pollId: poll.id, option } }).finish());
    }
    await expect.poll(() => viewers.every((v) => v.answers.length === 1), { timeout: 10_000 }).toBe(true);
    expect(viewers.every((v) => v.answers[0]?.error === ErrorCode.ERROR_CODE_UNSPECIFIED)).toBe(true);
    // The same user through the other edge, another option: refused.
    const again = await open((viewers[0]?.i ?? 0) % 2 === 0 ? b.wsUrl(room, viewers[0]?.t) : a.wsUrl(room, viewers[0]?.t));
    sockets.push(again.ws);
    again.ws.send(v1.ClientFrame.encode({ vote: { pollId: poll.id, option: 1 } }).finish());
    await expect.poll(() => again.answers[0]?.error, { timeout: 5_000 }).toBe(ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED);
    // One user racing ten votes through both edges at once, option 0 on one and 1 on the other: one
    // option wins (its repeats are answered done, the same vote), every vote for the other is refused.
    const racerToken = await token({ room, user: 'racer' });
    const racers = await Promise.all([open(a.wsUrl(room, racerToken)), open(b.wsUrl(room, racerToken))]);
    sockets.push(...racers.map((r) => r.ws));
    for (let i = 0; i < 10; i++) {
      (racers[i % 2] as (typeof racers)[number]).ws.send(v1.ClientFrame.encode({ vote: { pollId: poll.id, option: i % 2 } }).finish());
    }
    await expect.poll(() => racers.map((r) => r.answers.length), { timeout: 10_000 }).toEqual([5, 5]);
    const codes = racers.map((r) => [...new Set(r.answers.map((x) => x.error))]);
    expect(codes.sort()).toEqual([[ErrorCode.ERROR_CODE_UNSPECIFIED], [ErrorCode.ERROR_CODE_PLAY_ALREADY_ENTERED]].sort());
    const winner = racers[0]?.answers[0]?.error === ErrorCode.ERROR_CODE_UNSPECIFIED ? 0 : 1;
    sent[winner] = (sent[winner] ?? 0) + 1;
    const watcher = viewers[1] as (typeof viewers)[number];
    await expect.poll(() => watcher.events.find((e) => e.pollResult)?.pollResult?.votes, { timeout: 15_000 }).toEqual(sent);
    expect(watcher.events.find((e) => e.pollResult)?.pollResult?.voters).toBe(31);
  }, 40_000);

  it('plays - a lottery takes entrants from both edges once each and draws from all of them', async () => {
    const room = 'xlottery';
    const lottery = await post(`${room}/lotteries`, { prize: 'p', winners: 5, duration_s: 5, entry: 'any' });
    const entrants = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const s = await open((i % 2 === 0 ? a : b).wsUrl(room, await token({ room, user: `e${i}` })));
        sockets.push(s.ws);
        s.ws.send(v1.ClientFrame.encode({ joinLottery: { id: lottery.id } }).finish());
        return s;
      }),
    );
    await expect
      .poll(() => entrants.every((e) => e.answers[0]?.error === ErrorCode.ERROR_CODE_UNSPECIFIED), { timeout: 10_000 })
      .toBe(true);
    const result = await (async () => {
      await expect.poll(() => entrants[0]?.events.some((e) => e.lotteryResult), { timeout: 15_000 }).toBe(true);
      return entrants[0]?.events.find((e) => e.lotteryResult)?.lotteryResult as v1.LotteryResult;
    })();
    expect(result.entrants).toBe(20);
    expect(new Set(result.winners.map((w) => w.id)).size).toBe(5);
    for (const w of result.winners) expect(w.id).toMatch(/^e\d+$/);
  }, 40_000);
});
