/**
 * The edge's moderation keeps memory bounded by what the site decides and
 * does no per-socket work for rooms without moderators: states at their
 * defaults are dropped (and what runs out is swept), held danmaku reach
 * moderators without walking every socket, a viewer holds at most a few
 * danmaku at once, a full room refuses new bans, and a new word filter is
 * compiled while the old one keeps working.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Identity, RoleName } from '../../domain/auth.js';
import { MemoryBus } from '../../domain/bus-memory.js';
import type { EdgeConfig } from '../../domain/config.js';
import { createLogger } from '../../domain/logger.js';
import type { ModerationOptions } from '../../domain/moderation.js';
import { testConfig } from '../helpers/config.js';
import { maxHeldPerUser } from '../../domain/moderation.js';
import { applyControl, emptyModeration } from '../../domain/moderation-state.js';
import type { RoomModeration } from '../../domain/moderation-state.js';
import { MemoryModerationStore } from '../../domain/moderation-store-memory.js';
import { subjects } from '../../domain/subjects.js';
import type { Conn, Socket } from '../../edge/connection.js';
import type { EdgeContext } from '../../edge/extensions.js';
import type { EdgeMetrics } from '../../edge/metrics.js';
import { EdgeModeration } from '../../edge/moderation.js';
import type { ValidDanmaku } from '../../edge/validate.js';

let edges: EdgeModeration[] = [];
afterEach(() => {
  for (const e of edges) e.stop();
  edges = [];
});

/** A decoded Moderate frame, as the edge hands it over (its oneof set). */
const frame = (moderate: v1.IModerate) => v1.ClientFrame.decode(v1.ClientFrame.encode({ moderate }).finish());
const identity = (userId: string, role: RoleName = 'viewer'): Identity => ({ userId, name: userId, room: '', role, exp: 0, member: false });

async function setup(overrides: Partial<ModerationOptions> = {}) {
  const bus = new MemoryBus();
  const store = new MemoryModerationStore();
  let now = 1_000_000;
  const sockets: Socket[] = [];
  const sent = new Map<Socket, Uint8Array[]>();
  const errors: Array<{ code: v1.ErrorCode; message: string }> = [];
  const closed: Array<[string, number]> = [];
  let walks = 0;
  const ctx: EdgeContext = {
    config: { edgeId: 'e1' } as EdgeConfig,
    bus,
    log: createLogger('silent'),
    metrics: {} as EdgeMetrics,
    sendError: (_ws, code, message) => errors.push({ code, message }),
    send: (ws, frame) => sent.set(ws, [...(sent.get(ws) ?? []), frame]),
    closeSocket: (ws, code) => closed.push([ws.getUserData().identity.userId, code]),
    socketsOf: (room) => {
      walks++;
      return sockets.filter((ws) => ws.getUserData().room === room);
    },
    hostedRooms: () => [...new Set(sockets.map((ws) => ws.getUserData().room))],
  };
  const options = { ...testConfig().moderation, ...overrides };
  const edge = new EdgeModeration({ store, options, now: () => now });
  edges.push(edge);
  await edge.start(ctx);
  /** A socket as the edge sees it after admission. */
  const connect = (room: string, who: Identity): Socket => {
    expect(edge.admit(who, room)).toEqual({ ok: true });
    const conn = { room, identity: who, closed: false } as unknown as Conn;
    const ws = { getUserData: () => conn } as unknown as Socket;
    sockets.push(ws);
    return ws;
  };
  const danmaku = (ws: Socket, text: string) =>
    edge.danmakuPolicy(ws.getUserData(), { text, mode: 0, color: 0 } as unknown as ValidDanmaku, now);
  const heldFrames = (ws: Socket) => (sent.get(ws) ?? []).map((f) => v1.ServerFrame.decode(f).held).filter(Boolean);
  let seq = 0;
  /** Stores a state as core would after applying `events`. */
  const put = async (room: string, ...events: v1.IEvent[]): Promise<RoomModeration> => {
    const state = (await store.getState(room)) ?? emptyModeration(room);
    for (const e of events) applyControl(state, v1.Event.create({ seq: ++seq, tsMs: now, room, ...e }));
    await store.putState(state);
    return state;
  };
  return {
    bus,
    store,
    edge,
    ctx,
    connect,
    danmaku,
    heldFrames,
    put,
    errors,
    closed,
    walks: () => walks,
    advance: (ms: number) => (now += ms),
    macrotask: () => new Promise((r) => setImmediate(r)),
  };
}

describe('moderation edge - bounded state', () => {
  it('moderation edge - 10,000 rooms with a short time-out each leave no state, slow-mode table or filter once it runs out and the sweep runs', async () => {
    const t = await setup();
    for (let i = 0; i < 10_000; i++) await t.put(`room-${i}`, { mute: { userId: 'u', seconds: 60 } });
    expect(t.edge.sizes.states).toBe(10_000);
    t.advance(60_000);
    t.edge.sweep();
    expect(t.edge.sizes).toEqual({ states: 0, lastSend: 0, filters: 0, moderators: 0, holds: 0 });
  });

  it('moderation edge - a lifted state is dropped at once; rooms with restrictions keep theirs, hosted or not, and refuse late joiners', async () => {
    const t = await setup();
    await t.put('lifted', { slowMode: { seconds: 5 } });
    const v = t.connect('lifted', identity('v'));
    expect(t.danmaku(v, 'one')).toEqual({ ok: true });
    expect(t.edge.sizes.lastSend).toBe(1);
    await t.put('lifted', { slowMode: { seconds: 0 } });
    expect(t.edge.stateOf('lifted')).toBeUndefined();
    expect(t.edge.sizes.lastSend).toBe(0);
    await t.put('banned-room', { ban: { userId: 'bad', seconds: 3600 } });
    await t.put('closed-room', { roomClose: { reason: 'over' } });
    t.advance(10 * 60_000);
    t.edge.sweep();
    expect(t.edge.admit(identity('bad'), 'banned-room')).toMatchObject({ ok: false, reason: 'banned' });
    expect(t.edge.admit(identity('fine'), 'closed-room')).toMatchObject({ ok: false, reason: 'room_closed' });
    t.advance(3600_000);
    t.edge.sweep();
    expect(t.edge.admit(identity('bad'), 'banned-room')).toEqual({ ok: true }); // the ban ran out
    expect(t.edge.sizes.states).toBe(1); // the closed room only
  });

  it("moderation edge - a new ban among thousands closes the banned user's socket, and bans already applied close nobody again", async () => {
    const t = await setup();
    t.connect('r', identity('bad'));
    t.connect('r', identity('good'));
    t.connect('r', identity('other-1'));
    await t.put('r', ...Array.from({ length: 3000 }, (_, i) => ({ ban: { userId: `other-${i}`, seconds: 60 } })));
    expect(t.closed).toEqual([['other-1', 4502]]);
    await t.put('r', { ban: { userId: 'bad', seconds: 60 } });
    expect(t.closed).toEqual([
      ['other-1', 4502],
      ['bad', 4502],
    ]);
  });
});

describe('moderation edge - held danmaku', () => {
  const hold = async (t: Awaited<ReturnType<typeof setup>>, room: string) => {
    await t.store.putFilter(room, v1.FilterRules.create({ terms: ['darn'], action: v1.FilterAction.FILTER_ACTION_HOLD }));
    await t.edge.filtersBuilt();
  };

  it('moderation edge - held danmaku of a room without moderators cost no socket walk; a moderator gets them, walked for only after joining', async () => {
    const t = await setup();
    await hold(t, 'h');
    const viewers = Array.from({ length: 5 }, (_, i) => t.connect('h', identity(`v${i}`)));
    for (const v of viewers) expect(t.danmaku(v, 'darn it')).toMatchObject({ ok: false, code: ErrorCode.ERROR_CODE_HELD });
    await t.bus.flush();
    await t.macrotask();
    expect(t.walks()).toBe(0);
    const mod = t.connect('h', identity('m', 'moderator'));
    t.advance(10_000); // the moderator's socket is open by now
    for (const [i, text] of ['darn again', 'darn twice', 'darn thrice'].entries()) {
      expect(t.danmaku(viewers[i] as Socket, text)).toMatchObject({ code: ErrorCode.ERROR_CODE_HELD });
      await t.bus.flush();
      await t.macrotask();
    }
    expect(t.heldFrames(mod).map((h) => h?.danmaku?.text)).toEqual(['darn again', 'darn twice', 'darn thrice']);
    expect(t.walks()).toBe(1); // once after the moderator was admitted, then the sockets found are used
    expect(t.heldFrames(viewers[0] as Socket)).toEqual([]);
  });

  it(`moderation edge - a viewer's danmaku past ${maxHeldPerUser} waiting are refused with LIMIT_REACHED; a decision frees a place`, async () => {
    const t = await setup();
    await hold(t, 'lim');
    const v = t.connect('lim', identity('flooder'));
    const other = t.connect('lim', identity('other'));
    const held: string[] = [];
    t.bus.subscribe(subjects.held('lim'), (d) => held.push(v1.Held.decode(d).holdId));
    for (let i = 0; i < maxHeldPerUser; i++) expect(t.danmaku(v, `darn ${i}`)).toMatchObject({ code: ErrorCode.ERROR_CODE_HELD });
    const refused = t.danmaku(v, 'darn more');
    expect(refused).toMatchObject({ ok: false, code: ErrorCode.ERROR_CODE_LIMIT_REACHED });
    expect(!refused.ok && refused.message).toMatch(/3 of your danmaku already wait for a moderator/);
    expect(t.danmaku(other, 'darn')).toMatchObject({ code: ErrorCode.ERROR_CODE_HELD }); // others are not affected
    await t.bus.flush();
    expect(held).toHaveLength(maxHeldPerUser + 1);
    t.bus.publish(subjects.held('lim'), v1.Held.encode({ holdId: held[0], room: 'lim', resolved: true }).finish());
    await t.bus.flush();
    expect(t.danmaku(v, 'darn again')).toMatchObject({ code: ErrorCode.ERROR_CODE_HELD });
  });
});

describe('moderation edge - limits and filters', () => {
  it('moderation edge - a moderator banning a new user in a full room gets LIMIT_REACHED and nothing is published', async () => {
    const t = await setup({ maxBansPerRoom: 2 });
    await t.put('full', { ban: { userId: 'a' } }, { mute: { userId: 'b', seconds: 600 } });
    const mod = t.connect('full', identity('m', 'moderator'));
    const published: string[] = [];
    t.bus.subscribe(subjects.ingress('full'), (_d, s) => published.push(s));
    t.edge.frames?.moderate?.(t.ctx, mod, frame({ ban: { userId: 'c' } }), 0);
    await t.bus.flush();
    expect(t.errors).toEqual([{ code: ErrorCode.ERROR_CODE_LIMIT_REACHED, message: expect.stringMatching(/the most it may \(2\)/) }]);
    expect(published).toEqual([]);
    t.edge.frames?.moderate?.(t.ctx, mod, frame({ unban: { userId: 'a' } }), 0);
    await t.bus.flush();
    expect(published).toHaveLength(1);
  });

  it('moderation edge - while a large filter compiles the old one stays in force; a newer PUT wins over an older build', async () => {
    const t = await setup();
    const v = t.connect('f', identity('v'));
    await t.store.putFilter('f', v1.FilterRules.create({ terms: ['old'] }));
    await t.edge.filtersBuilt();
    expect(t.danmaku(v, 'old word')).toMatchObject({ code: ErrorCode.ERROR_CODE_BLOCKED_TEXT });
    const big = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}x`);
    await t.store.putFilter('f', v1.FilterRules.create({ terms: [...big, 'new'] }));
    expect(t.danmaku(v, 'old word')).toMatchObject({ code: ErrorCode.ERROR_CODE_BLOCKED_TEXT }); // not compiled yet
    await t.edge.filtersBuilt();
    expect(t.danmaku(v, 'old word')).toEqual({ ok: true });
    expect(t.danmaku(v, 'new word')).toMatchObject({ code: ErrorCode.ERROR_CODE_BLOCKED_TEXT });
    await t.store.putFilter('f', v1.FilterRules.create({ terms: [...big, 'newer'] }));
    await t.store.putFilter('f', v1.FilterRules.create({ terms: ['newest'] }));
    await t.edge.filtersBuilt();
    expect(t.danmaku(v, 'newer word')).toEqual({ ok: true });
    expect(t.danmaku(v, 'newest word')).toMatchObject({ code: ErrorCode.ERROR_CODE_BLOCKED_TEXT });
    await t.store.putFilter('f', v1.FilterRules.create({ terms: [] }));
    expect(t.edge.sizes.filters).toBe(0);
  });
});
