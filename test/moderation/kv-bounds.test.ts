/**
 * A clustered room's moderation keeps propagating however many bans are
 * thrown at it (real nats-server, KV bucket): core holds at most the
 * per-room limit of bans and time-outs, so the stored state of 128-character
 * user ids stays under NATS's 1 MiB payload limit, and a later change still
 * reaches every watching edge. Without the limit, 8,000 such bans made a
 * state of about 1.1 MB: the KV put failed and the room's moderation froze.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { NatsBus } from '../../domain/bus-nats.js';
import { createLogger } from '../../domain/logger.js';
import { testConfig } from '../helpers/config.js';
import { ModerationService } from '../../core/moderation/moderation-service.js';
import { encodeModeration, maxBansPerRoomLimit } from '../../domain/moderation-state.js';
import type { RoomModeration } from '../../domain/moderation-state.js';
import { KvModerationStore } from '../../domain/moderation-store-kv.js';
import { subjects } from '../../domain/subjects.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

describe('moderation kv bounds', () => {
  let nats: NatsSetup;
  let coreBus: NatsBus;
  let edgeBus: NatsBus;
  let coreStore: KvModerationStore;
  let edgeStore: KvModerationStore;
  let service: ModerationService;

  beforeAll(async () => {
    nats = await startNats();
    coreBus = await NatsBus.connect({ servers: nats.urls, name: 'kv-bounds-core' });
    edgeBus = await NatsBus.connect({ servers: nats.urls, name: 'kv-bounds-edge' });
    coreStore = await KvModerationStore.open(coreBus.nc, { replicas: 1 });
    edgeStore = await KvModerationStore.open(edgeBus.nc, { replicas: 1 });
    service = new ModerationService(coreBus, coreStore, { ...testConfig().moderation, logger: createLogger('silent') });
    service.start();
  });

  afterAll(async () => {
    service?.stop();
    await coreStore?.close();
    await edgeStore?.close();
    await coreBus?.close();
    await edgeBus?.close();
    await nats?.stop();
  });

  it('moderation kv bounds - 8,000 bans of 128-character ids leave the room at the limit, stored, and its next change reaches the edges', async () => {
    const room = 'flooded';
    let latest: RoomModeration | undefined;
    await edgeStore.watch({
      onState: (s) => {
        if (s.room === room) latest = s;
      },
      onFilter: () => undefined,
    });
    const undone: string[] = [];
    edgeBus.subscribe(subjects.ingress(room), (d) => {
      const e = v1.Event.decode(d);
      if (e.unban) undone.push(e.unban.userId as string);
    });
    await edgeBus.flush();
    const now = Date.now();
    let seq = 0;
    const attempts = 8_000;
    for (let i = 0; i < attempts; i++) {
      const userId = `user-${i}-`.padEnd(128, 'x');
      coreBus.publish(subjects.events(room), v1.Event.encode({ seq: ++seq, tsMs: now, room, ban: { userId, seconds: 86_400 } }).finish());
    }
    coreBus.publish(subjects.events(room), v1.Event.encode({ seq: ++seq, tsMs: now, room, slowMode: { seconds: 5 } }).finish());
    await expect.poll(() => latest?.slowSeconds, { timeout: 30_000 }).toBe(5);
    expect(latest?.bans.size).toBe(maxBansPerRoomLimit);
    const bytes = encodeModeration(latest as RoomModeration).length;
    console.log(`moderation kv bounds: ${maxBansPerRoomLimit} bans of 128-character ids stored in ${bytes} bytes`);
    expect(bytes).toBeLessThan(0.75 * 1024 * 1024);
    // Every ban past the limit was undone in the open, not dropped silently.
    await expect.poll(() => undone.length, { timeout: 30_000 }).toBe(attempts - maxBansPerRoomLimit);
  });
});
