/**
 * Frame fuzzing against a real single-process server: whatever a visitor puts
 * on a socket (valid frames of every kind, mutated frames, random bytes, text)
 * as a guest, a viewer, a moderator or a host, the process stays up, nothing
 * escapes as an uncaught exception or unhandled rejection, no internal error
 * is counted, `/healthz` keeps answering 200, and the visitor is answered or
 * closed with a documented code.
 *
 * Two phases:
 * - lockstep, with limits high enough that nothing is rate-limited: each
 *   message must get its own answer (an error, a pong, a welcome, an ack, or
 *   the socket's own danmaku or moderation event coming back in a batch)
 *   before the next is sent; likes are silent by design, so for them a ping
 *   sent after must come back, proving the socket still works;
 * - flood, at the default limits: sockets of every role send as fast as they
 *   can while honest viewers in another room must receive every danmaku of
 *   theirs, in order; afterwards every socket is either closed with a
 *   documented code or still answers a ping.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import type { RoleName } from '../../domain/auth.js';
import { TestClient } from '../helpers/client.js';
import { RawWs } from '../helpers/raw-ws.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { frameSpecArb, heldWord, materialize, wireSpecArb } from './frame-arbitraries.js';
import type { FrameContext, WireSpec } from './frame-arbitraries.js';
import { FuzzSocket } from './fuzz-socket.js';
import type { Received } from './fuzz-socket.js';
import { HealthPoller, checkProperty, documentedCloseCodes, internalErrors, watchProcess } from './support.js';
import type { HealthSummary, ProcessWatch } from './support.js';

/** How long one message may wait for its answer (core's slowest answer, a hold decision, times out at 2 s). */
const answerTimeoutMs = 6_000;
const maxFrameBytes = 4096;

let probes = 0;
const pingBytes = (clientTsMs: number): Uint8Array => v1.ClientFrame.encode({ ping: { clientTsMs } }).finish();

/** Likes are counted, never answered: the one frame kind that is silent by design. */
function silentByDesign(data: Uint8Array | string): boolean {
  if (typeof data === 'string' || data.length > maxFrameBytes) return false;
  try {
    return v1.ClientFrame.decode(data).kind === 'like';
  } catch {
    return false;
  }
}

/** True when `r` answers a message of `socket`: anything addressed to it, or its own event coming back. */
function answers(r: Received, socket: FuzzSocket): boolean {
  const f = r.frame;
  if (!f) return true; // undecodable: an answer, and a finding checked separately
  if (f.error || f.pong || f.welcome || f.ack || f.playAnswer) return true;
  if (!f.batch || f.batch.history) return false;
  return (f.batch.events ?? []).some((e) => e.danmaku?.user?.id === socket.userId || e.actor?.id === socket.userId);
}

/** What answered the lockstep messages, by kind (printed, and checked so the generators keep reaching every path). */
const outcomes = new Map<string, number>();
const count = (label: string): void => void outcomes.set(label, (outcomes.get(label) ?? 0) + 1);

function outcomeOf(r: Received | undefined, socket: FuzzSocket): string {
  const f = r?.frame;
  if (!f) return socket.closed ? `close ${socket.closeCode}` : 'undecodable';
  if (f.error) return `error ${v1.ErrorCode[f.error.code ?? 0] ?? f.error.code}`;
  if (f.pong) return 'pong';
  if (f.welcome) return 'welcome';
  if (f.ack) return 'ack';
  if (f.playAnswer) return `play answer ${v1.ErrorCode[f.playAnswer.error ?? 0] ?? f.playAnswer.error}`;
  const e = (f.batch?.events ?? []).find((ev) => ev.danmaku?.user?.id === socket.userId || ev.actor?.id === socket.userId);
  return e?.danmaku ? 'danmaku echoed' : `${e?.kind ?? 'batch'} event echoed`;
}

/** Sends one message and waits for its answer; a description of what went wrong, or undefined. */
async function exchange(socket: FuzzSocket, data: Uint8Array | string): Promise<string | undefined> {
  const mark = socket.received.length;
  socket.send(data);
  let answered: boolean;
  if (silentByDesign(data)) {
    const probe = 1_000_000 + ++probes;
    socket.send(pingBytes(probe));
    answered = await socket.until(
      () => socket.closed || socket.received.slice(mark).some((r) => Number(r.frame?.pong?.clientTsMs) === probe),
      answerTimeoutMs,
    );
  } else {
    answered = await socket.until(() => socket.closed || socket.received.slice(mark).some((r) => answers(r, socket)), answerTimeoutMs);
  }
  if (!answered) return `no answer within ${answerTimeoutMs} ms`;
  const first = socket.received.slice(mark).find((r) => answers(r, socket));
  count(
    silentByDesign(data)
      ? socket.closed
        ? `like, then close ${socket.closeCode}`
        : 'like (silent), ping answered'
      : outcomeOf(first, socket),
  );
  const bad = socket.received.slice(mark).find((r) => r.undecodable);
  if (bad) return `server sent an undecodable message ${bad.undecodable?.toString('hex').slice(0, 80)}`;
  if (socket.closed && !documentedCloseCodes.has(socket.closeCode as number)) {
    return `closed with undocumented code ${socket.closeCode} "${socket.closeReason}"`;
  }
  return undefined;
}

const describeMessage = (data: Uint8Array | string): string =>
  typeof data === 'string'
    ? `text ${JSON.stringify(data.slice(0, 60))}`
    : `${data.length} bytes ${Buffer.from(data.subarray(0, 40)).toString('hex')}`;

/** Turns on a global word filter that holds danmaku with `heldWord`, so holds and hold decisions are fuzzed too. */
async function holdFilter(server: TestServer): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/filter`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${server.config.auth.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ terms: [heldWord], action: 'hold' }),
  });
  expect(res.status).toBe(200);
}

/** The last held danmaku a (moderator's) socket was told of and not of its resolution. */
function lastHeldId(socket: FuzzSocket): string | undefined {
  for (let i = socket.received.length - 1; i >= 0; i--) {
    const held = socket.received[i]?.frame?.held;
    if (held && !held.resolved) return held.holdId ?? undefined;
  }
  return undefined;
}

/** Counts and checks what a property run may not change: internal errors and process problems. */
async function invariantDrift(server: TestServer, watch: ProcessWatch, before: { internal: number; problems: number }): Promise<string[]> {
  const out: string[] = [];
  const internal = await internalErrors(server.url);
  if (internal !== before.internal) out.push(`barrage_internal_errors_total went from ${before.internal} to ${internal}`);
  if (watch.problems.length !== before.problems) out.push(...watch.problems.slice(before.problems));
  return out;
}

describe('fuzz frames - lockstep: every message is answered or closed with a documented code', () => {
  let server: TestServer;
  let watch: ProcessWatch;
  let health: HealthPoller;
  let summary: HealthSummary;
  let run = 0;
  let sent = 0;

  beforeAll(async () => {
    watch = watchProcess();
    // Limits out of the way, so every message reaches the code that handles its kind.
    server = await startTestServer({
      BARRAGE_BATCH_MS: '5',
      BARRAGE_FRAME_RATE: '1000000',
      BARRAGE_FRAME_BURST: '1000000',
      BARRAGE_DANMAKU_RATE: '1000000',
      BARRAGE_DANMAKU_BURST: '1000000',
      BARRAGE_RESUME_PER_MINUTE: '100000',
      BARRAGE_RESUME_BURST: '1000',
      BARRAGE_MODERATE_RATE: '100000',
      BARRAGE_MODERATE_BURST: '100000',
    });
    await holdFilter(server);
    health = new HealthPoller(server.url);
  });
  afterAll(async () => {
    await health?.stop();
    await server?.stop();
    watch?.stop();
  });

  it('fuzz frames - every message of every role gets an answer, the process stays up', { timeout: 150_000 }, async () => {
    const roles: RoleName[] = ['guest', 'viewer', 'moderator', 'host'];
    const started = performance.now();
    await checkProperty(
      'lockstep frames',
      fc.asyncProperty(
        fc.array(wireSpecArb, { maxLength: 20 }),
        fc.array(wireSpecArb, { maxLength: 20 }),
        fc.array(wireSpecArb, { maxLength: 20 }),
        fc.array(wireSpecArb, { maxLength: 8 }),
        async (guest, viewer, moderator, host) => {
          const lists = [guest, viewer, moderator, host];
          const n = ++run;
          const room = `fzl-${n}`;
          const users = { guest: 'guest', viewer: `v-${n}`, moderator: `m-${n}`, host: `h-${n}` } as Record<RoleName, string>;
          const before = { internal: await internalErrors(server.url), problems: watch.problems.length };
          const sockets = await Promise.all(
            roles.map(async (role) =>
              FuzzSocket.open(
                role === 'guest' ? server.wsUrl(room) : server.wsUrl(room, await server.token({ room, user: users[role], role })),
                users[role],
              ),
            ),
          );
          const failures: string[] = [];
          await Promise.all(
            sockets.map(async (socket, i) => {
              const ctx: FrameContext = { room, self: users[roles[i] as RoleName], viewer: users.viewer, moderator: users.moderator };
              for (const spec of lists[i] ?? []) {
                if (socket.closed) break;
                ctx.lastHeldId = lastHeldId(socket);
                const data = materialize(spec, ctx);
                sent++;
                const failure = await exchange(socket, data);
                if (failure) failures.push(`${roles[i]}: ${failure} after ${describeMessage(data)}`);
              }
            }),
          );
          await Promise.all(sockets.map((s) => s.close()));
          failures.push(...(await invariantDrift(server, watch, before)));
          expect(failures).toEqual([]);
        },
      ),
      600,
    );
    summary = await health.stop();
    const seconds = (performance.now() - started) / 1000;
    console.info(
      `[fuzz] lockstep: ${sent} messages in ${seconds.toFixed(1)} s over ${run} runs; /healthz ${summary.polls} polls, max ${summary.maxMs} ms, p99 ${summary.p99Ms} ms\n` +
        [...outcomes]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `  ${v} ${k}`)
          .join('\n'),
    );
    // The generators must keep reaching past the decoder: accepted gifts, danmaku and resumes, and each role's refusals.
    for (const label of ['ack', 'danmaku echoed', 'welcome', 'pong', 'like (silent), ping answered']) {
      expect(outcomes.get(label) ?? 0, label).toBeGreaterThan(0);
    }
    for (const code of ['BAD_FRAME', 'INVALID_UTF8', 'RECEIPT_INVALID', 'FORBIDDEN', 'READ_ONLY', 'INVALID_ARGUMENT']) {
      expect(outcomes.get(`error ERROR_CODE_${code}`) ?? 0, code).toBeGreaterThan(0);
    }
    expect(
      [...outcomes.keys()].some((k) => k.endsWith(' event echoed')),
      'a moderation event',
    ).toBe(true);
    expect(summary.failures).toEqual([]);
    expect(summary.polls).toBeGreaterThan(0);
    expect(summary.maxMs).toBeLessThan(2_000);
    expect(watch.problems).toEqual([]);
    expect(await internalErrors(server.url)).toBe(0);
  });
});

describe('fuzz frames - flood at the default limits: honest viewers keep receiving', () => {
  let server: TestServer;
  let watch: ProcessWatch;
  let health: HealthPoller;
  const honest: TestClient[] = [];
  let sender: TestClient;

  beforeAll(async () => {
    watch = watchProcess();
    server = await startTestServer();
    await holdFilter(server);
    health = new HealthPoller(server.url);
    const room = 'honest';
    for (let i = 0; i < 3; i++) honest.push(await TestClient.connect(server.wsUrl(room, await server.token({ room, user: `hv${i}` }))));
    sender = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'hs', name: 'Honest' })));
  });
  afterAll(async () => {
    for (const c of [...honest, sender]) c?.close();
    await health?.stop();
    await server?.stop();
    watch?.stop();
  });

  it(
    'fuzz frames - sockets of every role flooding garbage leave the honest room, /healthz and the process intact',
    { timeout: 150_000 },
    async () => {
      const texts: string[] = [];
      // Under the default danmaku rate (2/s, burst 5): none of the honest danmaku may be refused.
      let honestRunning = true;
      const honestLoop = (async () => {
        while (honestRunning) {
          const text = `honest ${texts.length}`;
          texts.push(text);
          sender.danmaku(text);
          await new Promise((r) => setTimeout(r, 600));
        }
      })();

      const roles: RoleName[] = ['guest', 'guest', 'viewer', 'viewer', 'moderator', 'host'];
      let run = 0;
      let sent = 0;
      let opened = 0;
      let sendingMs = 0;
      const closes = new Map<number, number>();
      await checkProperty(
        'flood frames',
        // Mixed garbage, or only well-formed frames (which are not closed for garbage and so run into the rate limits).
        fc.asyncProperty(
          fc.oneof(
            fc.array(wireSpecArb, { minLength: 1_000, maxLength: 4_000 }),
            fc.array(
              frameSpecArb.map((frame): WireSpec => ({ frame, mutations: [] })),
              { minLength: 1_000, maxLength: 4_000 },
            ),
          ),
          async (specs) => {
            const n = ++run;
            const before = { internal: await internalErrors(server.url), problems: watch.problems.length };
            const failures: string[] = [];
            let rooms = 0;
            let room = `fzf-${n}`;
            const slots = roles.map((role) => ({
              role,
              user: 'guest',
              socket: undefined as FuzzSocket | undefined,
              lastReceipt: undefined as string | undefined,
            }));
            /** (Re)opens a slot's socket as a new user; in a new room when this one refuses (closed by a host, or a ban). */
            const open = async (i: number): Promise<void> => {
              const slot = slots[i] as (typeof slots)[number];
              for (let attempt = 0; attempt < 3; attempt++) {
                slot.user = slot.role === 'guest' ? 'guest' : `f${n}-${slot.role}-${i}-${++opened}`;
                const url =
                  slot.role === 'guest'
                    ? server.wsUrl(room)
                    : server.wsUrl(room, await server.token({ room, user: slot.user, role: slot.role }));
                try {
                  slot.socket = await FuzzSocket.open(url, slot.user);
                  return;
                } catch {
                  room = `fzf-${n}-${++rooms}`;
                }
              }
              failures.push(`${slot.role}: could not open a socket in three rooms`);
            };
            /** Records a closed socket's code; a code the edge does not document is a finding. */
            const closed = (i: number): void => {
              const { socket, role } = slots[i] as (typeof slots)[number];
              if (!socket?.closed) return;
              const code = socket.closeCode as number;
              closes.set(code, (closes.get(code) ?? 0) + 1);
              if (!documentedCloseCodes.has(code)) failures.push(`${role} closed with undocumented code ${code} "${socket.closeReason}"`);
              const bad = socket.received.find((r) => r.undecodable);
              if (bad) failures.push(`${role} got an undecodable message ${bad.undecodable?.toString('hex').slice(0, 80)}`);
            };
            for (let i = 0; i < slots.length; i++) await open(i);
            const t0 = performance.now();
            for (let k = 0; k < specs.length; k++) {
              const i = k % slots.length;
              const slot = slots[i] as (typeof slots)[number];
              if (slot.socket?.closed) {
                closed(i);
                await open(i);
              }
              const ctx: FrameContext = {
                room,
                self: slot.user,
                viewer: slots[2]?.user ?? '',
                moderator: slots[4]?.user ?? '',
                lastReceipt: slot.lastReceipt,
                lastHeldId: slot.socket ? lastHeldId(slot.socket) : undefined,
              };
              slot.socket?.send(materialize(specs[k] as WireSpec, ctx));
              slot.lastReceipt = ctx.lastReceipt;
              sent++;
              // Let the server (same process) and the health poller run between bursts.
              if (k % 30 === 29) await new Promise((r) => setImmediate(r));
            }
            sendingMs += performance.now() - t0;
            await Promise.all(
              slots.map(async ({ socket, role }, i) => {
                if (!socket) return;
                // Alive means a ping comes back once the rate limits have refilled; or the socket was closed, with a documented code.
                const alive = async (): Promise<boolean> => {
                  const probe = 2_000_000 + ++probes;
                  const mark = socket.received.length;
                  socket.send(pingBytes(probe));
                  return socket.until(
                    () => socket.closed || socket.received.slice(mark).some((r) => Number(r.frame?.pong?.clientTsMs) === probe),
                    400,
                  );
                };
                let ok = false;
                for (let attempt = 0; attempt < 15 && !ok; attempt++) ok = await alive();
                if (!ok) failures.push(`${role} socket neither closed nor answering pings`);
                closed(i);
              }),
            );
            await Promise.all(slots.map((s) => s.socket?.close()));
            failures.push(...(await invariantDrift(server, watch, before)));
            expect(failures).toEqual([]);
          },
        ),
        10,
      );
      honestRunning = false;
      await honestLoop;
      for (const c of honest) {
        await c.until(() => c.texts().length >= texts.length, 10_000, `the ${texts.length} honest danmaku`);
        expect(c.texts()).toEqual(texts);
        expect(c.closeCode).toBeUndefined();
      }
      const summary = await health.stop();
      console.info(
        `[fuzz] flood: ${sent} messages over ${run} runs on ${opened} sockets at ${Math.round(sent / (sendingMs / 1000))} msg/s while sending; ` +
          `closes ${JSON.stringify(Object.fromEntries(closes))}; honest danmaku ${texts.length} delivered to ${honest.length} viewers; ` +
          `/healthz ${summary.polls} polls, max ${summary.maxMs} ms, p99 ${summary.p99Ms} ms`,
      );
      expect(summary.failures).toEqual([]);
      expect(summary.polls).toBeGreaterThan(0);
      expect(summary.maxMs).toBeLessThan(2_000);
      expect(watch.problems).toEqual([]);
      expect(await internalErrors(server.url)).toBe(0);
    },
  );
});

/** One WebSocket frame as a client could put it on the wire, rules of RFC 6455 optional. */
interface WsFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
  /** How the length is written: as the payload needs, always in 16 or 64 bits, or larger than the payload (a lie). */
  length: 'natural' | 'ext16' | 'ext64' | { lie: number };
}

const wsFrameArb: fc.Arbitrary<WsFrame> = fc.record({
  fin: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
  rsv: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.nat(7), weight: 1 }),
  // Binary, text, continuation, close, ping, pong, and the reserved opcodes.
  opcode: fc.oneof({ arbitrary: fc.constantFrom(0x2, 0x2, 0x1, 0x0, 0x8, 0x9, 0xa), weight: 6 }, { arbitrary: fc.nat(15), weight: 1 }),
  masked: fc.oneof({ arbitrary: fc.constant(true), weight: 8 }, { arbitrary: fc.constant(false), weight: 1 }),
  payload: fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 4 },
    { arbitrary: fc.constant(v1.ClientFrame.encode({ ping: { clientTsMs: 1 } }).finish()), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        Uint8Array.of(0x03, 0xe8),
        Uint8Array.of(0x0f, 0xa0),
        Uint8Array.of(0x03, 0xe8, 0xff, 0xfe),
        Uint8Array.of(0x00),
      ),
      weight: 1,
    },
    { arbitrary: fc.integer({ min: 126, max: 300 }).map((n) => new Uint8Array(n)), weight: 1 },
  ),
  length: fc.oneof(
    { arbitrary: fc.constant<WsFrame['length']>('natural'), weight: 8 },
    { arbitrary: fc.constantFrom<WsFrame['length']>('ext16', 'ext64'), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 100_000 }).map((lie): WsFrame['length'] => ({ lie })), weight: 1 },
  ),
});

/** The bytes of a frame (masked with a fixed key when `masked`). */
function encodeWsFrame(f: WsFrame): Buffer {
  const declared = typeof f.length === 'object' ? f.payload.length + f.length.lie : f.payload.length;
  const form = f.length === 'ext16' ? 126 : f.length === 'ext64' ? 127 : declared < 126 ? declared : declared < 65_536 ? 126 : 127;
  const head = [(f.fin ? 0x80 : 0) | (f.rsv << 4) | f.opcode, (f.masked ? 0x80 : 0) | form];
  const ext = form === 126 ? Buffer.alloc(2) : form === 127 ? Buffer.alloc(8) : Buffer.alloc(0);
  if (form === 126) ext.writeUInt16BE(declared % 65_536);
  if (form === 127) ext.writeBigUInt64BE(BigInt(declared));
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const payload = Buffer.from(f.payload.map((b, i) => (f.masked ? b ^ (key[i % 4] as number) : b)));
  return Buffer.concat([Buffer.from(head), ext, f.masked ? key : Buffer.alloc(0), payload]);
}

describe('fuzz frames - raw WebSocket framing', () => {
  let server: TestServer;
  let watch: ProcessWatch;
  let health: HealthPoller;

  beforeAll(async () => {
    watch = watchProcess();
    server = await startTestServer();
    health = new HealthPoller(server.url);
  });
  afterAll(async () => {
    await health?.stop();
    await server?.stop();
    watch?.stop();
  });

  it(
    'fuzz frames - odd opcodes, fragments, unmasked frames and lying lengths stop at uWS or the edge, never the process',
    { timeout: 150_000 },
    async () => {
      let run = 0;
      const ends = { answered: 0, closed: 0, waiting: 0 };
      await checkProperty(
        'raw ws framing',
        fc.asyncProperty(fc.array(wsFrameArb, { minLength: 1, maxLength: 10 }), async (frames) => {
          const before = { internal: await internalErrors(server.url), problems: watch.problems.length };
          const raw = await RawWs.open(server.port, `/ws?room=fzr-${++run}`);
          // The Welcome first, so what follows is the fuzzed frames' doing.
          await expect.poll(() => raw.messages.length, { timeout: 5_000, interval: 5 }).toBeGreaterThan(0);
          const welcomed = raw.messages.length;
          for (const f of frames) raw.socket.write(encodeWsFrame(f));
          // A well-formed ping after them: answered, or the connection ended, or (after a lying length) the server waits for bytes.
          raw.socket.write(
            encodeWsFrame({
              fin: true,
              rsv: 0,
              opcode: 2,
              masked: true,
              payload: v1.ClientFrame.encode({ ping: { clientTsMs: 7 } }).finish(),
              length: 'natural',
            }),
          );
          const ended = raw.ended().then(() => 'closed' as const);
          const answered = expect
            .poll(() => raw.messages.slice(welcomed).some((m) => v1.ServerFrame.decode(m).pong), { timeout: 1_000, interval: 5 })
            .toBe(true)
            .then(
              () => 'answered' as const,
              () => 'waiting' as const,
            );
          ends[await Promise.race([ended, answered])]++;
          raw.destroy();
          await raw.ended();
          expect(await invariantDrift(server, watch, before)).toEqual([]);
        }),
        150,
      );
      const summary = await health.stop();
      console.info(
        `[fuzz] raw ws framing: ${run} connections, ${JSON.stringify(ends)} after the frames; /healthz ${summary.polls} polls, max ${summary.maxMs} ms, p99 ${summary.p99Ms} ms`,
      );
      expect(summary.failures).toEqual([]);
      expect(summary.maxMs).toBeLessThan(2_000);
      expect(watch.problems).toEqual([]);
      expect(await internalErrors(server.url)).toBe(0);
    },
  );
});
