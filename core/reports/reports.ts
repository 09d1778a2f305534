/**
 * Reports: viewers ask the room's moderators to look at a danmaku. Core
 * counts them (whichever edge a viewer is on, and whichever core answers),
 * in the `ReportStore` every core shares:
 *
 * - a report is filed once per viewer per danmaku (again: REPORT_DUPLICATE),
 *   only for a danmaku still in the room's recent history (core's ring: the
 *   entry shows the danmaku to moderators), never for one's own;
 * - a danmaku reported by `holdThreshold` distinct viewers within `windowMs`
 *   is held: retracted from every screen (a `retract` by `system`) and put in
 *   the held queue (a `Held` with hold id `report-<danmaku id>`), where a
 *   moderator approves it (it is sent again) or rejects it. The transition
 *   is one compare-and-set write, so exactly one core makes it;
 * - a moderator (or the site) resolves an entry: `DISMISSED` (nothing wrong:
 *   a held danmaku is approved) or `REMOVED` (retracted; a held one
 *   rejected). A decision on the held queue resolves the entry the same way;
 * - every change of an entry reaches the room's moderators (`Reported` on
 *   the room's `reported` subject; edges forward it to moderators, hosts and
 *   admins only), and every auto-hold and resolution is a control event
 *   (`report_outcome`, with actor and reason) in the room's log and so in the
 *   audit log. Who reported is kept in the store, never put in an event:
 *   control events reach every viewer.
 */
import type { Logger } from 'pino';
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus, Subscription } from '../../domain/bus.js';
import { maxReportDetail, reportHoldPrefix } from '../../domain/reports.js';
import { roomOfSubject, subjects } from '../../domain/subjects.js';
import type { ReportStore } from './report-store.js';

/** Danmaku ids are the base-36 seq core gave them. */
const danmakuIdPattern = /^[0-9a-z]{1,12}$/;
const historyTimeoutMs = 2_000;
const holdTimeoutMs = 2_000;

/** Who automatic report actions are by, in the audit log. */
export const reportsActor: v1.IUser = { id: 'system', name: 'reports', role: v1.Role.ROLE_ADMIN };

const Resolution = v1.ReportResolution;
const isOpen = (r: v1.ReportResolution | null | undefined): boolean =>
  (r ?? Resolution.REPORT_RESOLUTION_OPEN) === Resolution.REPORT_RESOLUTION_OPEN || r === Resolution.REPORT_RESOLUTION_AUTO_HELD;

/** Options of the service (`config.reports`). */
export interface ReportServiceOptions {
  /** Distinct reporters within `windowMs` that hold a danmaku; 0 never holds. */
  holdThreshold: number;
  windowMs: number;
  logger: Logger;
  now?: () => number;
}

/** A refusal: a stable code and words for the reporter. */
type Refusal = { error: v1.ErrorCode; message: string };

const refuse = (error: v1.ErrorCode, message: string): Uint8Array => v1.ReportReply.encode({ error, message }).finish();

/** Core's report service; see the file comment. */
export class ReportService {
  private readonly subs: Subscription[] = [];
  private readonly now: () => number;

  constructor(
    private readonly bus: Bus,
    private readonly store: ReportStore,
    private readonly options: ReportServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.subs.push(
      this.bus.serve(subjects.reportAll, (data, subject) => this.onRequest(data, subject)),
      this.bus.subscribe(subjects.heldAll, (data, subject) => this.onHeld(data, subject)),
    );
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }

  private async onRequest(data: Uint8Array, subject: string): Promise<Uint8Array> {
    const room = roomOfSubject(subject);
    let request: v1.ReportRequest;
    try {
      request = v1.ReportRequest.decode(data);
    } catch {
      return refuse(ErrorCode.ERROR_CODE_BAD_FRAME, 'not a ReportRequest');
    }
    try {
      if (request.report) return await this.file(room, request.report, request.reporter ?? {});
      if (request.resolve) return await this.resolve(room, request.resolve, request.actor ?? undefined, request.reason);
      return await this.list(room, request.includeResolved);
    } catch (err) {
      this.options.logger.error({ err, room }, 'report request failed');
      return refuse(ErrorCode.ERROR_CODE_UNAVAILABLE, 'reports are unavailable; try again');
    }
  }

  // ------------------------------------------------------------------ filing

  private async file(room: string, report: v1.IReport, reporter: v1.IUser): Promise<Uint8Array> {
    const danmakuId = report.danmakuId ?? '';
    const reporterId = reporter.id ?? '';
    if (!danmakuIdPattern.test(danmakuId)) return refuse(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'danmaku_id is not a danmaku id');
    if (!reporterId) return refuse(ErrorCode.ERROR_CODE_READ_ONLY, 'sign in to report');
    const detail = (report.detail ?? '').trim();
    if ([...detail].length > maxReportDetail) {
      return refuse(ErrorCode.ERROR_CODE_TEXT_TOO_LONG, `detail is at most ${maxReportDetail} characters`);
    }
    // An unknown reason (a newer client) counts as "other".
    const reason = v1.ReportReason[report.reason ?? 0] !== undefined ? (report.reason ?? 0) : v1.ReportReason.REPORT_REASON_OTHER;
    let danmaku: v1.IDanmaku | undefined;
    if (!(await this.store.get(room, danmakuId))) {
      danmaku = await this.findDanmaku(room, danmakuId);
      if (!danmaku) return refuse(ErrorCode.ERROR_CODE_NOT_FOUND, "that danmaku is no longer in the room's recent history");
    }
    const now = this.now();
    let refusal: Refusal | undefined;
    // Set by the attempt that is written when it is the one that crossed the threshold.
    let holds = false;
    const { record, written } = await this.store.update(room, danmakuId, (current) => {
      refusal = undefined;
      holds = false;
      const entry = current?.entry ?? { reportId: danmakuId, room, danmakuId, danmaku, firstTsMs: now };
      const author = entry.danmaku?.user?.id ?? '';
      if (author === reporterId) {
        refusal = { error: ErrorCode.ERROR_CODE_INVALID_ARGUMENT, message: 'you cannot report your own danmaku' };
        return undefined;
      }
      const ids = [...(current?.reporterIds ?? [])];
      const at = (current?.reportedMs ?? []).map(Number);
      if (ids.includes(reporterId)) {
        refusal = { error: ErrorCode.ERROR_CODE_REPORT_DUPLICATE, message: 'you reported this danmaku already' };
        return undefined;
      }
      // A resolved entry stays resolved: a moderator looked at it.
      if (!isOpen(entry.resolution)) return undefined;
      ids.push(reporterId);
      at.push(now);
      const reasons = [...(entry.reasons ?? [])];
      if (!reasons.includes(reason)) reasons.push(reason);
      const next: v1.IReported = { ...entry, reporters: ids.length, reasons, lastTsMs: now, ...(detail ? { detail } : {}) };
      const recent = at.filter((t) => t > now - this.options.windowMs).length;
      const { holdThreshold } = this.options;
      if (holdThreshold > 0 && recent >= holdThreshold && (next.resolution ?? 0) === Resolution.REPORT_RESOLUTION_OPEN) {
        next.resolution = Resolution.REPORT_RESOLUTION_AUTO_HELD;
        next.holdId = reportHoldPrefix + danmakuId;
        holds = true;
      }
      return new v1.ReportRecord({ entry: next, reporterIds: ids, reportedMs: at });
    });
    if (refusal) return refuse(refusal.error, refusal.message);
    if (!record) return refuse(ErrorCode.ERROR_CODE_LIMIT_REACHED, 'this room has too many open reports; try later');
    const entry = record.entry as v1.Reported;
    if (written) {
      this.publishEntry(room, entry);
      if (holds) this.autoHold(room, entry);
    }
    return v1.ReportReply.encode({ reports: [entry] }).finish();
  }

  /** The danmaku `id` from the room's retained history (core's ring), if it is still there. */
  private async findDanmaku(room: string, id: string): Promise<v1.IDanmaku | undefined> {
    const seq = parseInt(id, 36);
    if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
    const request = v1.HistoryRequest.encode({ resume: true, afterSeq: seq - 1 }).finish();
    const reply = v1.HistoryReply.decode(await this.bus.request(subjects.history(room), request, historyTimeoutMs));
    const event = reply.events.find((e) => Number(e.seq) === seq);
    return event?.danmaku?.id === id ? event.danmaku : undefined;
  }

  /** Holds a danmaku enough viewers reported: off every screen, into the held queue, in the room's log. */
  private autoHold(room: string, entry: v1.Reported): void {
    const reason = `reported by ${entry.reporters} viewers`;
    this.options.logger.info({ room, danmaku: entry.danmakuId, reporters: entry.reporters }, 'reported danmaku held');
    const ingress = subjects.ingress(room);
    this.bus.publish(ingress, v1.Event.encode({ room, retract: { danmakuId: entry.danmakuId }, actor: reportsActor, reason }).finish());
    if (entry.danmaku) {
      this.bus.publish(
        subjects.held(room),
        v1.Held.encode({ holdId: entry.holdId, room, danmaku: entry.danmaku, matched: reason, tsMs: this.now() }).finish(),
      );
    }
    this.publishOutcome(room, entry, reportsActor, reason);
  }

  // ------------------------------------------------------------------ resolving

  private async resolve(room: string, resolve: v1.IResolveReport, actor: v1.IUser | undefined, reason: string): Promise<Uint8Array> {
    const id = resolve.reportId ?? '';
    const resolution = resolve.resolution ?? 0;
    if (resolution !== Resolution.REPORT_RESOLUTION_DISMISSED && resolution !== Resolution.REPORT_RESOLUTION_REMOVED) {
      return refuse(ErrorCode.ERROR_CODE_INVALID_ARGUMENT, 'resolution must be DISMISSED or REMOVED');
    }
    if (!danmakuIdPattern.test(id)) return refuse(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such report');
    let before: v1.ReportResolution | undefined;
    const { record, written } = await this.store.update(room, id, (current) => {
      before = current?.entry?.resolution ?? undefined;
      if (!current?.entry || !isOpen(current.entry.resolution)) return undefined;
      return new v1.ReportRecord({ ...current, entry: { ...current.entry, resolution, resolvedBy: actor ?? null } });
    });
    if (!record || !written) return refuse(ErrorCode.ERROR_CODE_NOT_FOUND, 'no such open report (resolved already, or expired)');
    const entry = record.entry as v1.Reported;
    const removed = resolution === Resolution.REPORT_RESOLUTION_REMOVED;
    if (before === Resolution.REPORT_RESOLUTION_AUTO_HELD) {
      // The held queue decides: approve sends the danmaku again, reject leaves it retracted.
      const request = v1.HoldRequest.encode({ decision: { holdId: entry.holdId, approve: !removed }, actor, reason }).finish();
      await this.bus.request(subjects.hold(room), request, holdTimeoutMs).catch((err: unknown) => {
        this.options.logger.warn({ err, room, holdId: entry.holdId }, 'deciding a report hold failed');
      });
    } else if (removed) {
      this.bus.publish(
        subjects.ingress(room),
        v1.Event.encode({ room, retract: { danmakuId: entry.danmakuId }, actor: actor ?? reportsActor, reason }).finish(),
      );
    }
    this.publishEntry(room, entry);
    this.publishOutcome(room, entry, actor ?? reportsActor, reason);
    return v1.ReportReply.encode({ reports: [entry] }).finish();
  }

  /** A decision on the held queue about a danmaku held for reports resolves its entry the same way. */
  private onHeld(data: Uint8Array, subject: string): void {
    let held: v1.Held;
    try {
      held = v1.Held.decode(data);
    } catch {
      return;
    }
    if (!held.resolved || !held.holdId.startsWith(reportHoldPrefix)) return;
    const room = roomOfSubject(subject);
    const id = held.holdId.slice(reportHoldPrefix.length);
    const resolution = held.approved ? Resolution.REPORT_RESOLUTION_DISMISSED : Resolution.REPORT_RESOLUTION_REMOVED;
    // Every core sees the decision; the compare-and-set lets one of them write it.
    this.store
      .update(room, id, (current) => {
        if (current?.entry?.resolution !== Resolution.REPORT_RESOLUTION_AUTO_HELD) return undefined;
        return new v1.ReportRecord({ ...current, entry: { ...current.entry, resolution } });
      })
      .then(({ record, written }) => {
        if (!written || !record?.entry) return;
        this.publishEntry(room, record.entry as v1.Reported);
        this.publishOutcome(room, record.entry as v1.Reported, reportsActor, 'decided on the held queue');
      })
      .catch((err: unknown) => this.options.logger.warn({ err, room, holdId: held.holdId }, 'resolving a report after its hold failed'));
  }

  // ------------------------------------------------------------------ listing and telling

  private async list(room: string, includeResolved: boolean): Promise<Uint8Array> {
    const records = await this.store.list(room);
    const reports = records
      .map((r) => r.entry as v1.Reported)
      .filter((e) => e && (includeResolved || isOpen(e.resolution)))
      .sort((a, b) => Number(b.lastTsMs) - Number(a.lastTsMs));
    return v1.ReportReply.encode({ reports }).finish();
  }

  private publishEntry(room: string, entry: v1.IReported): void {
    this.bus.publish(subjects.reported(room), v1.Reported.encode(entry).finish());
  }

  private publishOutcome(room: string, entry: v1.IReported, actor: v1.IUser, reason: string): void {
    const outcome: v1.IReportOutcome = {
      reportId: entry.reportId,
      danmakuId: entry.danmakuId,
      userId: entry.danmaku?.user?.id ?? '',
      reporters: entry.reporters,
      resolution: entry.resolution,
      holdId: entry.holdId,
    };
    this.bus.publish(subjects.ingress(room), v1.Event.encode({ room, reportOutcome: outcome, actor, reason }).finish());
  }
}
