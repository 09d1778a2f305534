/**
 * Reports (issue 17), on a real single-process server: viewers report a
 * danmaku; N distinct reporters hold it (off every screen, into the held
 * queue); moderators are told each change and nobody else is; moderators and
 * the site resolve entries; bad reports get clear errors and floods are
 * limited per user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { api, errorOf, eventOf, moderate } from './helpers.js';

const { ErrorCode, ReportReason, ReportResolution } = v1;

/** The Reported frames a client received for `danmakuId`. */
const reportedOf = (c: TestClient, danmakuId: string): v1.Reported[] =>
  c.frames.filter((f) => f.reported?.danmakuId === danmakuId).map((f) => f.reported as v1.Reported);
/** Acks of `clientMsgId`. */
const acked = (c: TestClient, clientMsgId: string): boolean => c.frames.some((f) => f.ack?.clientMsgId === clientMsgId);

describe('reports', () => {
  let server: TestServer;
  const key = () => server.config.auth.apiKey;

  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_REPORT_HOLD_THRESHOLD: '3', BARRAGE_REPORTS_PER_MINUTE: '4' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const join = async (room: string, user: string, role: 'viewer' | 'moderator' | 'host' = 'viewer') =>
    TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user, role })));

  /** `author` sends `text`; resolves with the danmaku as `watcher` saw it. */
  const sent = async (author: TestClient, watcher: TestClient, text: string): Promise<v1.Danmaku> => {
    author.danmaku(text);
    return (await eventOf(watcher, 'danmaku', (e) => e.danmaku?.text === text)).danmaku as v1.Danmaku;
  };

  it('reports - three distinct viewers hold a danmaku: retracted everywhere, held for moderators, who alone see the entry grow', async () => {
    const room = 'rep-hold';
    const [author, watcher, mod, r1, r2, r3] = await Promise.all([
      join(room, 'author'),
      join(room, 'watcher'),
      join(room, 'mod', 'moderator'),
      join(room, 'r1'),
      join(room, 'r2'),
      join(room, 'r3'),
    ]);
    const d = await sent(author, watcher, 'buy followers at spam.example');
    r1.send({ report: { danmakuId: d.id, reason: ReportReason.REPORT_REASON_SPAM, clientMsgId: 'a' } });
    await r1.until(() => acked(r1, 'a'), 3000, 'ack of the first report');
    await mod.until(() => reportedOf(mod, d.id).length === 1, 3000, 'the entry, opened');
    expect(reportedOf(mod, d.id)[0]).toMatchObject({
      reportId: d.id,
      reporters: 1,
      reasons: [ReportReason.REPORT_REASON_SPAM],
      resolution: ReportResolution.REPORT_RESOLUTION_OPEN,
      danmaku: { text: 'buy followers at spam.example', user: { id: 'author' } },
    });
    // Reporting twice is refused and does not count.
    r1.send({ report: { danmakuId: d.id, clientMsgId: 'again' } });
    expect((await errorOf(r1, ErrorCode.ERROR_CODE_REPORT_DUPLICATE)).clientMsgId).toBe('again');
    r2.send({ report: { danmakuId: d.id, reason: ReportReason.REPORT_REASON_ABUSE, detail: 'rude', clientMsgId: 'b' } });
    await mod.until(() => reportedOf(mod, d.id).some((r) => r.reporters === 2), 3000, 'two reporters');
    expect(watcher.events.some((e) => e.retract?.danmakuId === d.id)).toBe(false);
    r3.send({ report: { danmakuId: d.id, reason: ReportReason.REPORT_REASON_SPAM, clientMsgId: 'c' } });
    const retract = await eventOf(watcher, 'retract', (e) => e.retract?.danmakuId === d.id);
    expect(retract.reason).toBe('reported by 3 viewers');
    expect(retract.actor?.id).toBe('system');
    await mod.until(() => mod.frames.some((f) => f.held?.holdId === `report-${d.id}` && !f.held.resolved), 3000, 'the held entry');
    const held = reportedOf(mod, d.id).at(-1);
    expect(held).toMatchObject({
      reporters: 3,
      resolution: ReportResolution.REPORT_RESOLUTION_AUTO_HELD,
      holdId: `report-${d.id}`,
      detail: 'rude',
    });
    expect(held?.reasons).toEqual([ReportReason.REPORT_REASON_SPAM, ReportReason.REPORT_REASON_ABUSE]);
    // The room's log says what happened (audit), without who reported.
    const outcome = await eventOf(watcher, 'reportOutcome', (e) => e.reportOutcome?.danmakuId === d.id);
    expect(outcome.reportOutcome).toMatchObject({
      reporters: 3,
      userId: 'author',
      resolution: ReportResolution.REPORT_RESOLUTION_AUTO_HELD,
    });
    // Viewers never see entries or held danmaku.
    for (const c of [author, watcher, r1, r2, r3]) expect(c.frames.some((f) => f.reported || f.held)).toBe(false);

    // The site dismisses the reports: the held danmaku goes back to the room.
    const listed = await api(server.url, key(), 'GET', `/api/v1/rooms/${room}/reports`);
    expect(listed.status).toBe(200);
    expect(listed.body['reports']).toEqual([
      expect.objectContaining({ report_id: d.id, reporters: 3, status: 'auto_held', reasons: ['spam', 'abuse'], text: d.text }),
    ]);
    const before = watcher.chat().filter((e) => e.danmaku?.text === d.text).length;
    const dismissed = await api(server.url, key(), 'POST', `/api/v1/rooms/${room}/reports/${d.id}/resolve`, {
      action: 'dismiss',
      reason: 'satire, fine',
      actor: { id: 'site-mod', name: 'Site Mod' },
    });
    expect(dismissed).toMatchObject({ status: 200, body: { status: 'dismissed', resolved_by: { id: 'site-mod' } } });
    await watcher.until(() => watcher.chat().filter((e) => e.danmaku?.text === d.text).length === before + 1, 3000, 'the danmaku again');
    await mod.until(
      () => reportedOf(mod, d.id).some((r) => r.resolution === ReportResolution.REPORT_RESOLUTION_DISMISSED),
      3000,
      'resolved',
    );
    // Resolved once: a second resolution is 404, and new reports are acknowledged but change nothing.
    expect((await api(server.url, key(), 'POST', `/api/v1/rooms/${room}/reports/${d.id}/resolve`, { action: 'remove' })).status).toBe(404);
    expect((await api(server.url, key(), 'GET', `/api/v1/rooms/${room}/reports`)).body['reports']).toEqual([]);
    expect((await api(server.url, key(), 'GET', `/api/v1/rooms/${room}/reports?all=1`)).body['reports']).toHaveLength(1);
    for (const c of [author, watcher, mod, r1, r2, r3]) c.close();
  });

  it('reports - a moderator removes a reported danmaku over the socket; a viewer may not', async () => {
    const room = 'rep-mod';
    const [author, watcher, mod, r1] = await Promise.all([
      join(room, 'author'),
      join(room, 'watcher'),
      join(room, 'mod', 'moderator'),
      join(room, 'r1'),
    ]);
    const d = await sent(author, watcher, 'something nasty');
    r1.send({ report: { danmakuId: d.id, reason: ReportReason.REPORT_REASON_ABUSE, clientMsgId: 'x' } });
    await mod.until(() => reportedOf(mod, d.id).length === 1, 3000, 'the entry');
    moderate(r1, { resolveReport: { reportId: d.id, resolution: ReportResolution.REPORT_RESOLUTION_REMOVED } });
    await errorOf(r1, ErrorCode.ERROR_CODE_FORBIDDEN);
    moderate(mod, { resolveReport: { reportId: d.id, resolution: ReportResolution.REPORT_RESOLUTION_REMOVED }, reason: 'insult' });
    const retract = await eventOf(watcher, 'retract', (e) => e.retract?.danmakuId === d.id);
    expect(retract.actor?.id).toBe('mod');
    await mod.until(() => reportedOf(mod, d.id).some((r) => r.resolution === ReportResolution.REPORT_RESOLUTION_REMOVED), 3000, 'removed');
    expect(reportedOf(mod, d.id).at(-1)?.resolvedBy?.id).toBe('mod');
    // Resolving it again, or with no resolution, is a clear error.
    const errors = mod.errors.length;
    moderate(mod, { resolveReport: { reportId: d.id, resolution: ReportResolution.REPORT_RESOLUTION_DISMISSED } });
    await errorOf(mod, ErrorCode.ERROR_CODE_NOT_FOUND, errors);
    moderate(mod, { resolveReport: { reportId: d.id } });
    await errorOf(mod, ErrorCode.ERROR_CODE_INVALID_ARGUMENT, errors);
    for (const c of [author, watcher, mod, r1]) c.close();
  });

  it('reports - a moderator who joins later is sent the open reports and the held danmaku', async () => {
    const room = 'rep-late';
    const [author, watcher, r1, r2, r3] = (await Promise.all(['author', 'watcher', 'r1', 'r2', 'r3'].map((u) => join(room, u)))) as [
      TestClient,
      TestClient,
      TestClient,
      TestClient,
      TestClient,
    ];
    const held = await sent(author, watcher, 'held later');
    const open = await sent(author, watcher, 'only one report');
    for (const r of [r1, r2, r3]) r.send({ report: { danmakuId: held.id, clientMsgId: 'h' } });
    r1.send({ report: { danmakuId: open.id, clientMsgId: 'o' } });
    await eventOf(watcher, 'retract', (e) => e.retract?.danmakuId === held.id);
    await r1.until(() => acked(r1, 'o'), 3000, 'the second report');
    const mod = await join(room, 'late-mod', 'moderator');
    await mod.until(() => reportedOf(mod, held.id).length > 0 && reportedOf(mod, open.id).length > 0, 3000, 'the open reports');
    expect(reportedOf(mod, held.id)[0]).toMatchObject({ reporters: 3, resolution: ReportResolution.REPORT_RESOLUTION_AUTO_HELD });
    expect(reportedOf(mod, open.id)[0]).toMatchObject({ reporters: 1, resolution: ReportResolution.REPORT_RESOLUTION_OPEN });
    await mod.until(() => mod.frames.some((f) => f.held?.holdId === `report-${held.id}`), 3000, 'the held danmaku');
    // A viewer who joins later is sent neither.
    const viewer = await join(room, 'late-viewer');
    viewer.danmaku('after');
    await eventOf(viewer, 'danmaku', (e) => e.danmaku?.text === 'after');
    expect(viewer.frames.some((f) => f.reported || f.held)).toBe(false);
    for (const c of [author, watcher, r1, r2, r3, mod, viewer]) c.close();
  });

  it('reports - bad reports are refused with a reason, floods are limited per user, and the server stays up', async () => {
    const room = 'rep-bad';
    const [author, watcher, viewer] = await Promise.all([join(room, 'author'), join(room, 'watcher'), join(room, 'viewer')]);
    const guest = await TestClient.connect(server.wsUrl(room));
    const d = await sent(author, watcher, 'a fine danmaku');
    const cases: Array<[TestClient, v1.IReport, v1.ErrorCode]> = [
      [guest, { danmakuId: d.id }, ErrorCode.ERROR_CODE_READ_ONLY],
      [viewer, { danmakuId: '' }, ErrorCode.ERROR_CODE_INVALID_ARGUMENT],
      [viewer, { danmakuId: d.id, detail: 'x'.repeat(201) }, ErrorCode.ERROR_CODE_TEXT_TOO_LONG],
      [author, { danmakuId: d.id }, ErrorCode.ERROR_CODE_INVALID_ARGUMENT],
      [viewer, { danmakuId: 'not/an id' }, ErrorCode.ERROR_CODE_INVALID_ARGUMENT],
      [viewer, { danmakuId: 'zzzzzz' }, ErrorCode.ERROR_CODE_NOT_FOUND],
    ];
    for (const [i, [client, report, code]] of cases.entries()) {
      const from = client.errors.length;
      client.send({ report: { ...report, clientMsgId: `case-${i}` } });
      const error = await errorOf(client, code, from);
      expect(error.clientMsgId, `case ${i}`).toBe(`case-${i}`);
      expect(error.message.length).toBeGreaterThan(0);
    }
    // An unknown reason number (a newer client) counts as "other".
    viewer.send({ report: { danmakuId: d.id, reason: 99 as v1.ReportReason, clientMsgId: 'odd' } });
    await viewer.until(() => acked(viewer, 'odd'), 3000, 'ack');
    // Reports that reach core cost one of the 4 a minute, refused or not (three so far): one more is
    // answered (a duplicate), the next one waits.
    viewer.send({ report: { danmakuId: d.id, clientMsgId: 'fourth' } });
    expect((await errorOf(viewer, ErrorCode.ERROR_CODE_REPORT_DUPLICATE)).clientMsgId).toBe('fourth');
    const from = viewer.errors.length;
    viewer.send({ report: { danmakuId: d.id, clientMsgId: 'flood' } });
    const limited = await errorOf(viewer, ErrorCode.ERROR_CODE_RATE_LIMITED, from);
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    // Over HTTP: bad action, bad room, no key.
    expect((await api(server.url, key(), 'POST', `/api/v1/rooms/${room}/reports/${d.id}/resolve`, { action: 'ban' })).status).toBe(400);
    expect((await api(server.url, key(), 'POST', `/api/v1/rooms/${room}/reports/nope/resolve`, { action: 'remove' })).status).toBe(404);
    expect((await api(server.url, key(), 'GET', '/api/v1/rooms/*/reports')).status).toBe(400);
    expect((await api(server.url, 'wrong', 'GET', `/api/v1/rooms/${room}/reports`)).status).toBe(401);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    for (const c of [author, watcher, viewer, guest]) c.close();
  });
});
