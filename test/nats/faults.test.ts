import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { startNats } from './helpers/nats-server.js';
import type { NatsSetup } from './helpers/nats-server.js';
import { RoleProcess, token } from './helpers/roles.js';
import { Viewer } from './helpers/viewer.js';
import { Injector, sleep } from './helpers/inject.js';

const range = (from: number, to: number, prefix: string) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);

describe('nats - faults on one NATS', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edges: RoleProcess[] = [];
  let injector: Injector;
  const viewers: Viewer[] = [];

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'core-1', nats.urls);
    edges = await Promise.all(['fa', 'fb'].map((id) => RoleProcess.start('edge', id, nats.urls)));
    injector = await Injector.connect(nats.urls);
  });

  afterAll(async () => {
    for (const v of viewers) v.close();
    await injector?.close();
    await Promise.all([...edges, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  it('failover - viewers of a killed edge resume on another with every control event once', async () => {
    const [a, b] = edges as [RoleProcess, RoleProcess];
    // Viewers start on edge a and go to whichever edge is alive on reconnect.
    const next = (attempt: number, since: number | undefined) => (attempt === 0 && a.alive ? a : b).wsUrl('kill', undefined, since);
    const onA = await Promise.all(Array.from({ length: 5 }, () => new Viewer(next).start()));
    const onB = await Promise.all(Array.from({ length: 2 }, () => new Viewer((_n, s) => b.wsUrl('kill', undefined, s)).start()));
    const t = await token({ room: 'kill', user: 'chatter' });
    const chatter = await new Viewer((_n, s) => b.wsUrl('kill', t, s)).start();
    viewers.push(...onA, ...onB, chatter);

    const total = 120;
    for (let n = 1; n <= total; n++) {
      injector.notice('kill', `n${n}`);
      if (n % 3 === 0) chatter.danmaku(`d${n}`);
      if (n === 50) await a.stop('SIGKILL');
      await sleep(10);
    }
    const all = [...onA, ...onB, chatter];
    // d120 is sent just after n120: wait for both, or a viewer can be checked between them.
    await Promise.all(
      all.map((v) => v.until(() => v.notices().length >= total && v.texts().length >= total / 3, 20_000, `${total} notices and danmaku`)),
    );
    for (const v of all) {
      expect(v.notices()).toEqual(range(1, total, 'n'));
      expect(v.texts()).toEqual(Array.from({ length: total / 3 }, (_, i) => `d${(i + 1) * 3}`));
    }
    console.log(
      'failover duplicates',
      all.map((v) => v.duplicates),
      'resumes',
      all.map((v) => v.resumesSent),
    );
    // The killed edge's viewers came back through a resume, told nothing was lost.
    for (const v of onA) {
      expect(v.reconnects).toBeGreaterThan(0);
      const resumed = v.welcomes.slice(1);
      expect(resumed.length).toBeGreaterThan(0);
      expect(resumed.every((w) => w.recovered)).toBe(true);
    }
    expect(b.alive && core.alive).toBe(true);
  });

  it('nats restart - nothing crashes, delivery resumes, what was stored before is kept', async () => {
    const [, b] = edges as [RoleProcess, RoleProcess];
    const c = await RoleProcess.start('edge', 'fc', nats.urls);
    edges.push(c);
    const room = 'restart';
    const watchers = [
      await new Viewer((_n, s) => b.wsUrl(room, undefined, s)).start(),
      await new Viewer((_n, s) => c.wsUrl(room, undefined, s)).start(),
    ];
    viewers.push(...watchers);
    for (let n = 1; n <= 30; n++) {
      injector.notice(room, `r${n}`);
      await sleep(5);
    }
    await Promise.all(watchers.map((v) => v.until(() => v.notices().length >= 30, 10_000, 'stored before restart')));

    const server = nats.servers[0]!;
    await server.stop('SIGKILL');
    // Readiness follows the NATS connection: edges stay up but say they are not ready.
    await expect.poll(async () => (await b.http('/readyz')).status, { timeout: 8_000 }).toBe(503);
    expect((await c.http('/healthz')).status).toBe(200);
    await server.start();
    await expect.poll(async () => (await b.http('/readyz')).status, { timeout: 15_000 }).toBe(200);
    await expect.poll(async () => (await c.http('/readyz')).status, { timeout: 15_000 }).toBe(200);

    // Core reconnects too (its ingress subscription is back); events sent now are stored and delivered.
    // Ingress is core NATS, at most once: what is promised is what core stored, not what was sent while it was away.
    await expect
      .poll(
        async () => {
          const { connections } = await server.monitor<{ connections: Array<{ name: string; subscriptions_list?: string[] }> }>(
            '/connz?subs=1',
          );
          return connections.some((c) => c.name === 'barrage-core-core-1' && c.subscriptions_list?.includes('barrage.room.*.in'));
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    await injector.nc.flush();
    for (let n = 31; n <= 60; n++) {
      injector.notice(room, `r${n}`);
      await sleep(5);
    }
    await Promise.all(watchers.map((v) => v.until(() => v.notices().length >= 60, 20_000, 'delivery after restart')));
    for (const v of watchers) expect(v.notices()).toEqual(range(1, 60, 'r'));
    console.log(
      'restart duplicates',
      watchers.map((v) => v.duplicates),
      'resumes',
      watchers.map((v) => v.resumesSent),
    );

    // A viewer arriving now and resuming from the start gets all of it back from JetStream.
    const late = await new Viewer((_n) => c.wsUrl(room, undefined, 0)).start();
    viewers.push(late);
    await late.until(() => late.notices().length >= 60, 10_000, 'replay');
    expect(late.welcomes[0]?.recovered).toBe(true);
    expect(late.notices()).toEqual(range(1, 60, 'r'));
    expect(core.alive && b.alive && c.alive).toBe(true);

    // And the stream itself holds them across the server's restart, in seq order.
    const jsm = await jetstreamManager(injector.nc);
    const stored: string[] = [];
    for await (const m of await jsm.direct.getBatch('BARRAGE_ROOMS', { seq: 1, next_by_subj: 'barrage.log.restart.*', batch: 100 })) {
      stored.push(v1.Event.decode(m.data).notice?.text as string);
    }
    expect(stored).toEqual(range(1, 60, 'r'));
  });

  it('core restart - a new core continues every room from JetStream without reusing a seq', async () => {
    const [, b] = edges as [RoleProcess, RoleProcess];
    const watcher = await new Viewer((_n, s) => b.wsUrl('restart', undefined, s ?? 0)).start();
    viewers.push(watcher);
    await watcher.until(() => watcher.notices().length >= 60, 10_000, 'replay from seq 0');
    await core.stop('SIGKILL');
    core = await RoleProcess.start('core', 'core-2', nats.urls);
    for (let n = 61; n <= 80; n++) {
      injector.notice('restart', `r${n}`);
      await sleep(5);
    }
    await watcher.until(() => watcher.notices().includes('r80'), 10_000, 'events from the new core');
    const seqs = watcher.ordered().map((e) => e.seq);
    // Live events after the restart follow on from seq 60 with no gap and no seq given twice.
    const live = watcher.ordered().filter((e) => e.seq > 60);
    expect(live.map((e) => e.notice?.text)).toEqual(range(61, 80, 'r'));
    expect(live.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 61 + i));
    expect(new Set(seqs).size).toBe(seqs.length);
  });
});
