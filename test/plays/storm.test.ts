/**
 * The red packet storm of issue 15: 5,000 viewers on two edges (real `barrage
 * edge` and `barrage core` processes over a real nats-server) grab one
 * 1,000-share packet while one edge is SIGKILLed and NATS is killed and
 * restarted. Each viewer behaves as the widget does: it grabs, grabs again
 * after UNAVAILABLE or RATE_LIMITED, and after losing its edge reconnects to
 * the other one and grabs again until it has an answer that is final.
 *
 * What must hold: exactly 1,000 viewers hold a share, the shares sum to the
 * total, no user is recorded twice, every viewer the server says has a share
 * was told that same amount, and every other viewer was told why not.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess, token } from '../nats/helpers/roles.js';

const apiKey = 'p'.repeat(32);
const env = { BARRAGE_API_KEY: apiKey };
const room = 'rpstorm';
const viewers = 5_000;
const shares = 1_000;
const totalCents = 888_888;

/** Final answers: the viewer keeps them; anything else is retried. */
const finalCodes = new Set<number>([
  ErrorCode.ERROR_CODE_UNSPECIFIED,
  ErrorCode.ERROR_CODE_RED_PACKET_ALREADY_GRABBED,
  ErrorCode.ERROR_CODE_RED_PACKET_EMPTY,
  ErrorCode.ERROR_CODE_PLAY_EXPIRED,
]);

/** One viewer grabbing as the widget does. */
class Grabber {
  /** The final answer, once there is one. */
  final: v1.PlayAnswer | undefined;
  retries = 0;
  reconnects = 0;
  other: string[] = [];
  private ws: WebSocket | undefined;
  private closing = false;
  private grabAt = 0;

  constructor(
    readonly user: string,
    private readonly url: (attempt: number) => string,
    private packetId = '',
  ) {}

  connect(): void {
    const ws = new WebSocket(this.url(this.reconnects));
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.onFrame(v1.ServerFrame.decode(new Uint8Array(data))));
    ws.on('error', () => undefined);
    ws.on('open', () => {
      // Back on an edge: a grab without a final answer goes again.
      if (this.packetId && !this.final && this.grabAt > 0) this.grab();
    });
    ws.on('close', () => {
      if (this.closing || this.ws !== ws) return;
      this.reconnects++;
      setTimeout(() => this.connect(), 100 + Math.random() * 400);
    });
  }

  /** Grabs at `at` (ms from now). */
  grabAfter(packetId: string, ms: number): void {
    this.packetId = packetId;
    setTimeout(() => {
      this.grabAt = Date.now();
      this.grab();
    }, ms);
  }

  private grab(): void {
    if (this.final || this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(v1.ClientFrame.encode({ grabRedPacket: { id: this.packetId } }).finish());
  }

  private onFrame(frame: v1.ServerFrame): void {
    const answer = frame.playAnswer as v1.PlayAnswer | null | undefined;
    if (!answer || this.final) return;
    if (finalCodes.has(answer.error)) {
      this.final = answer;
      return;
    }
    if (answer.error === ErrorCode.ERROR_CODE_UNAVAILABLE || answer.error === ErrorCode.ERROR_CODE_RATE_LIMITED) {
      this.retries++;
      setTimeout(() => this.grab(), (answer.retryAfterMs || 500) + Math.random() * 500);
      return;
    }
    this.other.push(`${ErrorCode[answer.error]}: ${answer.message}`);
  }

  close(): void {
    this.closing = true;
    this.ws?.close();
  }
}

describe('red packets - storm with faults over NATS', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let a: RoleProcess;
  let b: RoleProcess;
  const grabbers: Grabber[] = [];

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'rpcore', nats.urls, env);
    [a, b] = await Promise.all([RoleProcess.start('edge', 'rpa', nats.urls, env), RoleProcess.start('edge', 'rpb', nats.urls, env)]);
  }, 60_000);
  afterAll(async () => {
    for (const g of grabbers) g.close();
    await Promise.all([a, b, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  it('storm - 5,000 grab a 1,000-share packet while an edge is killed and NATS restarts: exactly 1,000 shares, each once, every loser told why', async () => {
    const tokens = await Promise.all(Array.from({ length: viewers }, (_, i) => token({ room, user: `g${i}` })));
    // Half start on each edge; a viewer whose edge is gone goes to the one that is alive.
    const edgeFor = (i: number, attempt: number): RoleProcess => {
      const order = i % 2 === 0 ? [a, b] : [b, a];
      const pick = order[attempt % 2] as RoleProcess;
      return pick.alive ? pick : (order[(attempt + 1) % 2] as RoleProcess);
    };
    for (let i = 0; i < viewers; i++) {
      const g = new Grabber(`g${i}`, (attempt) => edgeFor(i, attempt).wsUrl(room, tokens[i]));
      grabbers.push(g);
      g.connect();
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`http://127.0.0.1:${b.port}/api/v1/rooms/${room}/red-packets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': 'storm-1', 'content-type': 'application/json' },
      body: JSON.stringify({ sender: { id: 'host' }, total_cents: totalCents, count: shares, expires_s: 600 }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const packet = (await res.json()) as { id: string };

    // Three waves, so each fault lands while shares are left: 400 grab; the next 400 grab while an edge
    // is SIGKILLed; the other 4,200 grab over 10 s while NATS is killed and restarted.
    const granted = () => grabbers.filter((g) => g.final?.error === ErrorCode.ERROR_CODE_UNSPECIFIED).length;
    const wave = (from: number, to: number, overMs: number) => {
      for (const g of grabbers.slice(from, to)) g.grabAfter(packet.id, Math.random() * overMs);
    };
    wave(0, 400, 1_000);
    await expect.poll(granted, { timeout: 30_000, interval: 50 }).toBe(400);
    wave(400, 800, 2_000);
    await new Promise((r) => setTimeout(r, 300));
    await a.stop('SIGKILL');
    await expect.poll(() => grabbers.slice(400, 800).every((g) => g.final), { timeout: 60_000, interval: 100 }).toBe(true);
    wave(800, viewers, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    const server = nats.servers[0] as NatsSetup['servers'][number];
    await server.stop('SIGKILL');
    const grantedAtNatsKill = granted();
    await new Promise((r) => setTimeout(r, 500));
    await server.start();
    expect(grantedAtNatsKill).toBeLessThan(shares);

    // Every viewer ends with a final answer.
    await expect
      .poll(() => grabbers.filter((g) => !g.final).length, { timeout: 90_000, interval: 250 })
      .toBe(0)
      .catch((err: unknown) => {
        console.log('unanswered', grabbers.filter((g) => !g.final).length, 'core', core.output.slice(-3000));
        throw err;
      });

    const winners = grabbers.filter(
      (g) => g.final?.error === ErrorCode.ERROR_CODE_UNSPECIFIED || g.final?.error === ErrorCode.ERROR_CODE_RED_PACKET_ALREADY_GRABBED,
    );
    const losers = grabbers.filter((g) => !winners.includes(g));
    const read = await fetch(`http://127.0.0.1:${b.port}/api/v1/rooms/${room}/red-packets/${packet.id}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    const state = (await read.json()) as {
      grabbed: number;
      grabbed_cents: number;
      status: string;
      grabs: Array<{ user: { id: string }; amount_cents: number }>;
    };
    console.log(
      `storm: ${winners.length} winners, ${losers.length} losers, ${grabbers.reduce((n, g) => n + g.retries, 0)} retries,`,
      `${grabbers.reduce((n, g) => n + g.reconnects, 0)} reconnects; ${grantedAtNatsKill} granted when NATS was killed`,
    );
    expect(state).toMatchObject({ grabbed: shares, grabbed_cents: totalCents, status: 'emptied' });
    expect(state.grabs).toHaveLength(shares);
    expect(new Set(state.grabs.map((g) => g.user.id)).size).toBe(shares);
    expect(state.grabs.reduce((n, g) => n + g.amount_cents, 0)).toBe(totalCents);
    // What each winner was told is what the server recorded for them.
    const recorded = new Map(state.grabs.map((g) => [g.user.id, g.amount_cents]));
    expect(winners).toHaveLength(shares);
    for (const w of winners) expect(Number(w.final?.amountCents), w.user).toBe(recorded.get(w.user));
    // Every loser was told why: the packet was empty.
    for (const l of losers) expect(l.final?.error, l.user).toBe(ErrorCode.ERROR_CODE_RED_PACKET_EMPTY);
    expect(grabbers.flatMap((g) => g.other)).toEqual([]);
    expect(a.alive).toBe(false);
  }, 240_000);
});
