/**
 * The `VideoStore` contract, run against the in-memory store, the file
 * store (one process: what `barrage start` uses) and the NATS KV store (a
 * real nats-server, a fresh bucket per test). "Two edges" are two stores on
 * their own connections to the same bucket; in one process they are the
 * same store. Then the file store across a restart.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isFinished, VideoKind, videoDuration } from '../../domain/video-store.js';
import type { VideoRecord, VideoStore } from '../../domain/video-store.js';
import { MemoryVideoStore } from '../../domain/video-store-memory.js';
import { FileVideoStore } from '../../domain/video-store-file.js';
import { KvVideoStore } from '../../domain/video-store-kv.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

interface Stores {
  store: VideoStore;
  /** Another process's store on the same data; in one process the same store. */
  other(): Promise<VideoStore>;
}

let nats: NatsSetup | undefined;
const connections: NatsConnection[] = [];
let bucketCounter = 0;
const dirs: string[] = [];
const newDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-video-store-'));
  dirs.push(dir);
  return dir;
};

const implementations: Array<{ name: string; open(): Promise<Stores> }> = [
  {
    name: 'memory',
    async open() {
      const store = new MemoryVideoStore();
      return { store, other: async () => store };
    },
  },
  {
    name: 'file',
    async open() {
      const store = await FileVideoStore.open(newDir());
      return { store, other: async () => store };
    },
  },
  {
    name: 'kv',
    async open() {
      const bucket = `CONTRACT_VIDEOS_${++bucketCounter}`;
      const openOne = async (): Promise<VideoStore> => {
        const nc = await connect({ servers: (nats as NatsSetup).urls });
        connections.push(nc);
        return KvVideoStore.open(nc, { bucket, replicas: 1 });
      };
      return { store: await openOne(), other: openOne };
    },
  },
];

beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  for (const nc of connections) await nc.close();
  await nats?.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const session = (id: string, room: string, startedMs = 1_000): VideoRecord => ({
  id,
  kind: VideoKind.Session,
  room,
  startedMs,
  endedMs: 0,
  offsetMs: 0,
  durationMs: 0,
});

describe.each(implementations)('video store contract - $name', (impl) => {
  let stores: Stores;
  beforeEach(async () => {
    stores = await impl.open();
  });
  afterEach(async () => {
    await stores.store.close();
  });

  it('video store contract - nothing stored reads as undefined', async () => {
    expect(await stores.store.get('nope')).toBeUndefined();
    expect(await stores.store.openSession('room')).toBeUndefined();
    expect(await stores.store.endSession('nope', 5)).toEqual({ ok: false, reason: 'not_found' });
  });

  it('video store contract - one open session per room, seen from another process; ended, it is a finished video', async () => {
    const { store } = stores;
    const other = await stores.other();
    expect(await store.startSession(session('s1', 'r1'))).toEqual({ ok: true });
    expect(await other.startSession(session('s2', 'r1'))).toEqual({ ok: false, open: 's1' });
    expect(await other.get('s2')).toBeUndefined(); // the refused start left nothing behind
    expect(await other.startSession(session('s3', 'r2'))).toEqual({ ok: true });
    expect((await other.openSession('r1'))?.id).toBe('s1');
    expect(isFinished((await other.get('s1')) as VideoRecord)).toBe(false);

    const ended = await other.endSession('s1', 61_000);
    expect(ended.ok && ended.record).toMatchObject({ id: 's1', room: 'r1', startedMs: 1_000, endedMs: 61_000 });
    expect(await store.endSession('s1', 70_000)).toEqual({ ok: false, reason: 'ended' });
    const s1 = (await store.get('s1')) as VideoRecord;
    expect(isFinished(s1)).toBe(true);
    expect(videoDuration(s1)).toBe(60_000);
    expect(await store.openSession('r1')).toBeUndefined();
    // The room may start again once its session ended.
    expect(await store.startSession(session('s4', 'r1', 80_000))).toEqual({ ok: true });
    expect((await other.openSession('r1'))?.id).toBe('s4');
  });

  it('video store contract - two starts racing on one room give one session', async () => {
    const other = await stores.other();
    const results = await Promise.all([
      stores.store.startSession(session('a', 'race')),
      other.startSession(session('b', 'race')),
      stores.store.startSession(session('c', 'race')),
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const open = (await other.openSession('race')) as VideoRecord;
    expect(['a', 'b', 'c']).toContain(open.id);
    for (const r of results) if (!r.ok) expect(r.open).toBe(open.id);
  });

  it('video store contract - put registers a VOD and corrects an offset; a VOD cannot be ended', async () => {
    const vod: VideoRecord = { id: 'v1', kind: VideoKind.Vod, room: '', startedMs: 0, endedMs: 0, offsetMs: 0, durationMs: 90_000 };
    await stores.store.put(vod);
    const other = await stores.other();
    expect(await other.get('v1')).toEqual(vod);
    expect(isFinished(vod)).toBe(true);
    expect(await other.endSession('v1', 5)).toEqual({ ok: false, reason: 'not_found' });
    await stores.store.startSession(session('s9', 'r9'));
    await other.put({ ...((await other.get('s9')) as VideoRecord), offsetMs: -2_500 });
    expect((await stores.store.get('s9'))?.offsetMs).toBe(-2_500);
    expect((await stores.store.openSession('r9'))?.offsetMs).toBe(-2_500);
  });
});

describe('video store - the file store across a restart', () => {
  it('video store - a restart reads back sessions (open and ended), VODs and corrections; junk files are skipped', async () => {
    const dir = newDir();
    const before = await FileVideoStore.open(dir);
    await before.startSession(session('open-1', 'live-a', 5_000));
    await before.startSession(session('ended-1', 'live-b', 1_000));
    await before.endSession('ended-1', 31_000);
    await before.put({ id: 'vod-1', kind: VideoKind.Vod, room: '', startedMs: 0, endedMs: 0, offsetMs: 0, durationMs: 42_000 });
    await before.put({ ...((await before.get('ended-1')) as VideoRecord), offsetMs: 1_200 });
    await before.close();
    // What a crash or a person may leave in the directory.
    writeFileSync(join(dir, 'not-json.json'), '{ half');
    writeFileSync(join(dir, 'other-id.json'), JSON.stringify({ id: 'vod-1', kind: 'vod', durationMs: 1 }));
    writeFileSync(join(dir, 'x.json.1.1.tmp'), '{}');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual(['x.json.1.1.tmp']); // no write left one of its own

    const after = await FileVideoStore.open(dir);
    expect(await after.get('vod-1')).toMatchObject({ kind: VideoKind.Vod, durationMs: 42_000 });
    const ended = (await after.get('ended-1')) as VideoRecord;
    expect(ended).toMatchObject({ endedMs: 31_000, offsetMs: 1_200 });
    expect(videoDuration(ended)).toBe(30_000);
    // The open session is still the room's one open session: a second start is refused, ending it works.
    expect((await after.openSession('live-a'))?.id).toBe('open-1');
    expect(await after.startSession(session('open-2', 'live-a'))).toEqual({ ok: false, open: 'open-1' });
    expect(await after.endSession('open-1', 9_000)).toMatchObject({ ok: true });
    expect(await after.get('not-json')).toBeUndefined();
    expect(await after.get('other-id')).toBeUndefined();
    await after.close();
    const again = await FileVideoStore.open(dir);
    expect(await again.get('open-1')).toMatchObject({ endedMs: 9_000 });
    expect(await again.openSession('live-a')).toBeUndefined();
    await again.close();
  });

  it('video store - a directory that cannot be made fails every call with the reason, and close still resolves', async () => {
    const dir = newDir();
    writeFileSync(join(dir, 'file'), '');
    const store = new FileVideoStore(join(dir, 'file', 'videos'));
    await expect(store.get('x')).rejects.toThrow(/ENOTDIR|EEXIST/);
    await expect(store.put(session('s', 'r'))).rejects.toThrow();
    await store.close();
  });
});
