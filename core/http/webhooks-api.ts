/**
 * The webhook dead-letter API for operators (documented in docs/webhooks.md):
 *
 *   GET  /api/v1/webhooks/dead[?limit=N&after=<id>]   letters, oldest first, without their events
 *   POST /api/v1/webhooks/dead/:id/replay             send a letter's events again (202)
 *
 * Mounted on every edge; each request goes to core over the bus (the
 * process that delivers webhooks holds the store), so it answers 503 while
 * no core answers, and 404 with `WEBHOOKS_OFF` on a deployment without
 * webhooks.
 */
import type { Bus } from '../../domain/bus.js';
import { BusError, CoreErrorCode } from '../../domain/errors.js';
import type { Route, RouteResponse } from '../../domain/http.js';
import { bearerAuth, json, problem, unauthorized } from '../../domain/http.js';
import { problemDoc, s } from '../../domain/openapi.js';
import { webhookAdminSubject } from '../webhooks/webhooks.js';
import type { WebhookAdminReply, WebhookAdminRequest } from '../webhooks/webhooks.js';

const timeoutMs = 10_000;
const maxLimit = 1_000;
const idPattern = /^[0-9-]{1,32}$/;

const letterSchema = s.object(
  {
    id: s.string('the letter id (sortable, oldest first)'),
    url: s.string('the receiver that did not take it'),
    delivery: s.string('the Barrage-Delivery id it was last sent with'),
    deadAtMs: s.integer('when it was given up (ms since the epoch)'),
    firstAtMs: s.integer('when its oldest event arrived'),
    attempts: s.integer(),
    lastError: s.string('HTTP 500, timeout, ECONNREFUSED, ...'),
    rooms: s.array(s.string()),
    eventCount: s.integer(),
  },
  ['id', 'url', 'delivery', 'attempts', 'lastError', 'eventCount'],
);
const offDoc = problemDoc('WEBHOOKS_OFF: no process delivers webhooks (no BARRAGE_WEBHOOK_URL, or core is down)');

const statusOf = { NOT_FOUND: 404, GONE: 410, BUSY: 409, BAD_REQUEST: 400, INTERNAL: 503 } as const;

/** The dead-letter routes, checking `apiKey` and asking core over `bus`. */
export function webhookRoutes(options: { apiKey: string; bus: Bus }): Route[] {
  const authorized = bearerAuth(options.apiKey);
  const ask = async (req: WebhookAdminRequest, ok: (r: WebhookAdminReply & { ok: true }) => RouteResponse): Promise<RouteResponse> => {
    let reply: WebhookAdminReply;
    try {
      const bytes = await options.bus.request(webhookAdminSubject, new TextEncoder().encode(JSON.stringify(req)), timeoutMs);
      reply = JSON.parse(new TextDecoder().decode(bytes)) as WebhookAdminReply;
    } catch (err) {
      if (err instanceof BusError && err.code === CoreErrorCode.NoResponder) {
        return problem(404, 'WEBHOOKS_OFF', 'no process delivers webhooks (BARRAGE_WEBHOOK_URL is unset, or core is down)');
      }
      const res = problem(503, 'UNAVAILABLE', 'core did not answer; retry');
      res.headers = { ...res.headers, 'retry-after': '1' };
      return res;
    }
    if (!reply.ok) return problem(statusOf[reply.code] ?? 500, reply.code, reply.message);
    return ok(reply);
  };
  const common = { authorize: (headers: Readonly<Record<string, string>>) => authorized({ headers }), unauthorized };
  return [
    {
      method: 'get',
      pattern: '/api/v1/webhooks/dead',
      ...common,
      doc: {
        tag: 'webhooks',
        summary: 'List webhook dead letters (batches given up after the retry horizon), oldest first',
        description: 'Letters without their events; page with `after` = the `next` of the previous page. See docs/webhooks.md.',
        query: {
          limit: {
            description: 'letters per page (1 to 1,000; 100 by default)',
            schema: s.integer(undefined, { minimum: 1, maximum: maxLimit }),
          },
          after: { description: 'the id after which to start', schema: s.string() },
        },
        responses: {
          200: {
            description: 'a page of letters',
            schema: s.object({ letters: s.array(letterSchema), next: s.any('the id to pass as `after` for the next page, or null') }, [
              'letters',
              'next',
            ]),
          },
          400: problemDoc('INVALID_ARGUMENT: bad limit or after'),
          404: offDoc,
          503: problemDoc('UNAVAILABLE: core did not answer, or its dead-letter store is unavailable'),
        },
      },
      handler: (req) => {
        if (!authorized(req)) return unauthorized();
        const limitText = req.query.get('limit') ?? '100';
        const limit = Number(limitText);
        if (!/^[0-9]{1,4}$/.test(limitText) || limit < 1 || limit > maxLimit) {
          return problem(400, 'INVALID_ARGUMENT', `limit must be an integer from 1 to ${maxLimit}`);
        }
        const after = req.query.get('after') ?? undefined;
        if (after !== undefined && !idPattern.test(after)) return problem(400, 'INVALID_ARGUMENT', 'after must be a dead letter id');
        return ask({ op: 'list', limit, ...(after !== undefined ? { after } : {}) }, (r) => {
          const letters = r.letters ?? [];
          const last = letters.at(-1) as { id?: string } | undefined;
          return json(200, { letters, next: letters.length === limit && last?.id ? last.id : null });
        });
      },
    },
    {
      method: 'post',
      pattern: '/api/v1/webhooks/dead/:id/replay',
      maxBody: 1024,
      ...common,
      doc: {
        tag: 'webhooks',
        summary: "Send a dead letter's events again",
        description:
          'One new batch (new Barrage-Delivery id, the same event ids) with a fresh retry horizon; the letter is deleted once ' +
          'the receiver takes it and kept if it fails again. Replayed events arrive after later events of their rooms.',
        params: { id: 'the letter id' },
        responses: {
          202: { description: 'replaying', schema: s.object({ replaying: s.string() }, ['replaying']) },
          404: problemDoc('NOT_FOUND (never was, replayed or dropped), or WEBHOOKS_OFF'),
          409: problemDoc('BUSY: being replayed'),
          410: problemDoc("GONE: the letter's URL is no longer a BARRAGE_WEBHOOK_URL"),
          503: problemDoc('UNAVAILABLE: core did not answer'),
        },
      },
      handler: (req) => {
        if (!authorized(req)) return unauthorized();
        const id = req.params[0] ?? '';
        if (!idPattern.test(id)) return problem(404, 'NOT_FOUND', 'no such dead letter');
        return ask({ op: 'replay', id }, (r) => json(202, { replaying: r.replaying ?? id }));
      },
    },
  ];
}
