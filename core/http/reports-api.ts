/**
 * The reports API for site backends (API key), documented in docs/api.md
 * under "Reports". Served by every edge: it asks core's report service over
 * the bus (core/reports/reports.ts), which counts and resolves.
 *
 * - `GET  /api/v1/rooms/:room/reports[?all=1]`: open reports (all: resolved ones too)
 * - `POST /api/v1/rooms/:room/reports/:id/resolve`: `{ "action": "dismiss" | "remove", "reason", "actor" }`
 */
import { ErrorCode, v1 } from '../../proto/index.js';
import type { Bus } from '../../domain/bus.js';
import { json, problem } from '../../domain/http.js';
import type { Route, RouteResponse } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import { subjects } from '../../domain/subjects.js';
import { actorOf, isResponse, parseBody, siteRoute } from './moderation-api.js';

const requestTimeoutMs = 3_000;
const maxReason = 200;

/** Reasons and resolutions as the JSON API names them (the enum names without their prefix, lower case). */
const reasonName = (r: v1.ReportReason): string =>
  (v1.ReportReason[r] ?? 'REPORT_REASON_OTHER').slice('REPORT_REASON_'.length).toLowerCase();
const resolutionName = (r: v1.ReportResolution): string =>
  (v1.ReportResolution[r] ?? 'REPORT_RESOLUTION_OPEN').slice('REPORT_RESOLUTION_'.length).toLowerCase();

/** One reported danmaku as JSON. */
export const reportJson = (e: v1.IReported) => ({
  report_id: e.reportId ?? '',
  danmaku_id: e.danmakuId ?? '',
  user: { id: e.danmaku?.user?.id ?? '', name: e.danmaku?.user?.name ?? '' },
  text: e.danmaku?.text ?? '',
  reporters: e.reporters ?? 0,
  reasons: (e.reasons ?? []).map(reasonName),
  detail: e.detail ?? '',
  first_ms: Number(e.firstTsMs ?? 0),
  last_ms: Number(e.lastTsMs ?? 0),
  status: resolutionName(e.resolution ?? 0),
  hold_id: e.holdId ?? '',
  resolved_by: e.resolvedBy ? { id: e.resolvedBy.id ?? '', name: e.resolvedBy.name ?? '' } : null,
});

const reportSchema = s.object({
  report_id: s.string('the reported danmaku id; resolve with it'),
  danmaku_id: s.string(),
  user: s.ref('User'),
  text: s.string('the danmaku as it was sent'),
  reporters: s.integer('distinct viewers who reported it'),
  reasons: s.array(s.enum(['other', 'spam', 'abuse', 'sexual', 'spoiler', 'illegal', 'privacy'])),
  detail: s.string("the latest reporter's words, if any"),
  first_ms: s.integer(),
  last_ms: s.integer(),
  status: s.enum(['open', 'auto_held', 'dismissed', 'removed']),
  hold_id: s.string('auto_held: its entry in the held queue'),
  resolved_by: s.any('who resolved it ({ id, name }), or null'),
});

/** Maps core's refusal to an HTTP answer. */
function refusal(reply: v1.ReportReply): RouteResponse {
  const code = v1.ErrorCode[reply.error] ?? 'ERROR_CODE_INTERNAL';
  const status = reply.error === ErrorCode.ERROR_CODE_NOT_FOUND ? 404 : reply.error === ErrorCode.ERROR_CODE_UNAVAILABLE ? 503 : 400;
  return problem(status, code, reply.message);
}

/** The report routes. */
export function reportRoutes(o: { bus: Bus; apiKey: string }): Route[] {
  const route = siteRoute(o.apiKey);
  const ask = async (room: string, request: v1.IReportRequest): Promise<v1.ReportReply | RouteResponse> => {
    try {
      return v1.ReportReply.decode(await o.bus.request(subjects.report(room), v1.ReportRequest.encode(request).finish(), requestTimeoutMs));
    } catch {
      return problem(503, 'UNAVAILABLE', 'core did not answer; try again');
    }
  };
  return [
    route(
      'get',
      '/api/v1/rooms/:room/reports',
      {
        tag: 'moderation',
        summary: 'Reported danmaku (one entry per danmaku), newest report first',
        query: { all: { description: '1: resolved entries too (kept a day)', schema: s.enum(['0', '1']) } },
        responses: { 200: { description: 'the entries', schema: s.object({ room: s.string(), reports: s.array(reportSchema) }) } },
      },
      async (room, req) => {
        const reply = await ask(room, { includeResolved: req.query.get('all') === '1' });
        if (isResponse(reply)) return reply;
        if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return refusal(reply);
        return json(200, { room, reports: reply.reports.map(reportJson) });
      },
    ),
    route(
      'post',
      '/api/v1/rooms/:room/reports/:id/resolve',
      {
        tag: 'moderation',
        summary: 'Resolve a reported danmaku: dismiss the reports, or remove the danmaku',
        description:
          'dismiss: nothing wrong (a danmaku held because of its reports goes back to the room). remove: retracted from every screen (a held one is rejected). Both are kept in the audit log (report_outcome) with the actor and reason.',
        params: { id: 'the report id (the danmaku id)' },
        body: {
          schema: s.object(
            {
              action: s.enum(['dismiss', 'remove']),
              reason: s.string(`at most ${maxReason} characters, kept in the audit log`),
              actor: s.ref('User'),
            },
            ['action'],
          ),
        },
        responses: {
          200: { description: 'the entry as resolved', schema: reportSchema },
          404: problemDoc('ERROR_CODE_NOT_FOUND: no such open report (resolved already, or expired)'),
          503: problemDoc('UNAVAILABLE: core did not answer'),
        },
      },
      async (room, req) => {
        const b = parseBody(req);
        if (isResponse(b)) return b;
        const action = b['action'];
        if (action !== 'dismiss' && action !== 'remove') return problem(400, 'BAD_ACTION', 'action must be dismiss or remove');
        const reason = typeof b['reason'] === 'string' ? b['reason'] : '';
        if (reason.length > maxReason) return problem(400, 'BAD_REASON', `reason is at most ${maxReason} characters`);
        const resolution =
          action === 'dismiss' ? v1.ReportResolution.REPORT_RESOLUTION_DISMISSED : v1.ReportResolution.REPORT_RESOLUTION_REMOVED;
        const reply = await ask(room, { resolve: { reportId: req.params[1] ?? '', resolution }, actor: actorOf(b), reason });
        if (isResponse(reply)) return reply;
        if (reply.error !== ErrorCode.ERROR_CODE_UNSPECIFIED) return refusal(reply);
        return json(200, reportJson(reply.reports[0] ?? {}));
      },
      4 * 1024,
    ),
  ];
}
