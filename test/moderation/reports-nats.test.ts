/**
 * Reports across processes on NATS (two cores sharing the KV report store,
 * two edges, real processes): reporters on both edges are counted together
 * whichever core answers each; the danmaku is held once, retracted for every
 * other edge's viewers, and the moderator on the other edge is told; a
 * moderator's resolution on one edge reaches viewers on the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess, token } from '../nats/helpers/roles.js';
import { eventOf, moderate } from './helpers.js';

const { ReportResolution } = v1;

describe('reports on NATS', () => {
  let nats: NatsSetup;
  let cores: RoleProcess[] = [];
  let edges: RoleProcess[] = [];
  const clients: TestClient[] = [];

  const join = async (edge: RoleProcess, room: string, user: string, role: 'viewer' | 'moderator' = 'viewer') => {
    const c = await TestClient.connect(edge.wsUrl(room, await token({ room, user, role })));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    nats = await startNats();
    const env = { BARRAGE_REPORT_HOLD_THRESHOLD: '4' };
    cores = await Promise.all(['rc1', 'rc2'].map((id) => RoleProcess.start('core', id, nats.urls, env)));
    edges = await Promise.all(['re1', 're2'].map((id) => RoleProcess.start('edge', id, nats.urls, env)));
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all([...edges, ...cores].map((p) => p?.stop()));
    await nats?.stop();
  });

  it('reports nats - reporters on two edges through two cores hold the danmaku once; every other edge sees it go', async () => {
    const [e1, e2] = edges as [RoleProcess, RoleProcess];
    const room = 'rep-nats';
    const author = await join(e1, room, 'author');
    const watcher = await join(e1, room, 'watcher');
    const mod = await join(e2, room, 'mod', 'moderator');
    const reporters = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((u, i) => join(i % 2 ? e1 : e2, room, `rep-${u}`)));
    author.danmaku('flagrant spam');
    await watcher.until(() => watcher.texts().includes('flagrant spam'));
    const id = watcher.chat().find((e) => e.danmaku?.text === 'flagrant spam')?.danmaku?.id as string;
    // All six at once: four cross the threshold, the last two land on a held entry.
    for (const r of reporters) r.send({ report: { danmakuId: id, clientMsgId: 'r' } });
    for (const r of reporters) await r.until(() => r.frames.some((f) => f.ack?.clientMsgId === 'r'), 5000, 'ack');
    const retract = await eventOf(watcher, 'retract', (e) => e.retract?.danmakuId === id, 5000);
    expect(retract.reason).toBe('reported by 4 viewers');
    await mod.until(() => mod.frames.some((f) => f.held?.holdId === `report-${id}`), 5000, 'the held danmaku on the other edge');
    await mod.until(() => mod.frames.some((f) => f.reported?.danmakuId === id && f.reported.reporters === 6), 5000, 'all six counted');
    await eventOf(watcher, 'reportOutcome', (e) => e.reportOutcome?.resolution === ReportResolution.REPORT_RESOLUTION_AUTO_HELD, 5000);

    // The moderator on edge 2 dismisses: the danmaku comes back for viewers on edge 1.
    moderate(mod, { resolveReport: { reportId: id, resolution: ReportResolution.REPORT_RESOLUTION_DISMISSED }, reason: 'fine' });
    await watcher.until(() => watcher.chat().filter((e) => e.danmaku?.text === 'flagrant spam').length === 2, 5000, 'sent again');
    await mod.until(
      () => mod.frames.some((f) => f.reported?.danmakuId === id && f.reported.resolution === ReportResolution.REPORT_RESOLUTION_DISMISSED),
      5000,
      'dismissed',
    );
    // Every report was answered before the dismissal was sent, so a second hold would be in by now.
    expect(watcher.events.filter((e) => e.retract?.danmakuId === id)).toHaveLength(1);
    expect(mod.frames.filter((f) => f.held?.holdId === `report-${id}` && !f.held.resolved)).toHaveLength(1);
    expect(watcher.events.filter((e) => e.reportOutcome?.resolution === ReportResolution.REPORT_RESOLUTION_AUTO_HELD)).toHaveLength(1);
  });
});
