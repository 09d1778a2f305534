/**
 * Plain HTTP routes on the uWebSockets.js app. Handlers are async functions
 * returning a response; this file does the uWS parts (abort tracking, corking,
 * reading the body) once, so route code never touches a uWS response.
 *
 * Everything a stranger can send is answered here before a handler runs:
 * malformed percent-encoding in a path parameter is a 400, a route that needs
 * the API key refuses a request without it before reading a byte of its body
 * (401), a body announced or grown past the route's limit is a 413, and while
 * all requests together buffer more than `maxBufferedBodyBytes` new bodies are
 * refused with 503. Nothing thrown here or in a handler reaches uWS: it
 * becomes a 500, is logged and counted.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Route, RouteResponse, RouteRequest } from '../domain/http.js';
import { isLoopback } from './ip-budget.js';

/** What `mountRoutes` reports to its edge. */
export interface RouteHooks {
  /** A handler threw or rejected, or the request code itself failed (answered 500). */
  onError(err: unknown, where: string): void;
  /** A request refused before its handler ran, by reason (`bad_path`, `unauthorized`, `too_large`, `busy`). */
  onRefused?(reason: RefusalReason): void;
}

/** Why a request was refused before its handler ran (a metrics label). */
export type RefusalReason = 'bad_path' | 'unauthorized' | 'too_large' | 'busy';

/** Options of `mountRoutes`. */
export interface MountOptions {
  /** Bytes all requests may hold buffered together; past it new bodies get 503. */
  maxBufferedBodyBytes?: number;
  /**
   * Every route under `prefix` (the site API) is authorized before its body is
   * read unless it has its own `authorize` or is `public`, so a route added
   * later cannot forget the check.
   */
  protect?: { prefix: string; authorize: NonNullable<Route['authorize']>; unauthorized: () => RouteResponse };
}

const defaultMaxBody = 64 * 1024;
const defaultMaxBuffered = 32 * 1024 * 1024;

const statusText: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const text = (status: number, body: string, headers: Record<string, string> = {}): RouteResponse => ({
  status,
  headers: { 'content-type': 'text/plain', ...headers },
  body,
});

/**
 * Writes `out`. A HEAD answer carries the GET answer's headers and length but
 * no body: bytes after it would be read as the next response on a kept-alive
 * connection.
 */
export function send(res: HttpResponse, out: RouteResponse, head = false): void {
  res.cork(() => {
    res.writeStatus(`${out.status} ${statusText[out.status] ?? ''}`.trim());
    for (const [k, v] of Object.entries(out.headers ?? {})) res.writeHeader(k, v);
    if (head) {
      // endWithoutBody(length) aborts the process in this uWS build ("returning without responding"):
      // the length goes in as a header, and endWithoutBody() is called without arguments.
      res.writeHeader('content-length', String(typeof out.body === 'string' ? Buffer.byteLength(out.body) : out.body.byteLength));
      res.endWithoutBody();
    } else res.end(out.body);
  });
}

/** `decodeURIComponent` that answers undefined for malformed escapes instead of throwing `URIError`. */
export function safeDecode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** Registers `routes` on `app`; see the file comment for what is answered before a handler runs. */
export function mountRoutes(app: TemplatedApp, routes: readonly Route[], hooks: RouteHooks, options: MountOptions = {}): void {
  const maxBuffered = options.maxBufferedBodyBytes ?? defaultMaxBuffered;
  let buffered = 0;
  const { protect } = options;
  for (const given of routes) {
    const route: Route =
      protect && given.authorize === undefined && !given.public && given.pattern.startsWith(protect.prefix)
        ? { ...given, authorize: protect.authorize, unauthorized: protect.unauthorized }
        : given;
    const paramCount = (route.pattern.match(/:/g) ?? []).length;
    const maxBody = route.maxBody ?? defaultMaxBody;
    const handle = (res: HttpResponse, req: HttpRequest): void => {
      // Everything read from `req` must be read now: it is invalid after return.
      const headers: Record<string, string> = {};
      req.forEach((k, v) => (headers[k] = v));
      const method = req.getCaseSensitiveMethod().toUpperCase();
      const path = req.getUrl();
      const query = req.getQuery() ?? '';
      const params: string[] = [];
      let badParam = false;
      for (let i = 0; i < paramCount; i++) {
        const decoded = safeDecode(req.getParameter(i) ?? '');
        if (decoded === undefined) badParam = true;
        params.push(decoded ?? '');
      }
      let aborted = false;
      let answered = false;
      /** Gives back what this request holds of the shared body budget (once). */
      let release = (): void => {};
      res.onAborted(() => {
        aborted = true;
        release();
      });
      const respond = (out: RouteResponse): void => {
        if (aborted || answered) return;
        answered = true;
        send(res, out, method === 'HEAD');
      };
      const refuse = (reason: RefusalReason, out: RouteResponse): void => {
        hooks.onRefused?.(reason);
        respond(out);
      };
      if (badParam) return refuse('bad_path', text(400, 'malformed percent-encoding in the path'));
      if (route.authorize && !route.authorize(headers)) {
        return refuse('unauthorized', route.unauthorized?.() ?? text(401, 'unauthorized'));
      }
      const proxied = headers['x-forwarded-for'] !== undefined || headers['forwarded'] !== undefined;
      const loopback = !proxied && isLoopback(Buffer.from(res.getRemoteAddressAsText()).toString());
      const request: RouteRequest = { method, path, query: new URLSearchParams(query), headers, params, body: Buffer.alloc(0), loopback };
      const run = (): void => {
        Promise.resolve()
          .then(() => route.handler(request))
          .then(respond, (err: unknown) => {
            hooks.onError(err, route.pattern);
            respond(text(500, 'internal error'));
          });
      };
      if (method === 'GET' || method === 'HEAD') return run();
      const announced = Math.max(0, Number(headers['content-length'] ?? '0') || 0);
      if (announced > maxBody) return refuse('too_large', text(413, `body larger than ${maxBody} bytes`));
      // A request holds the larger of what it announced and what it has sent.
      if (buffered + announced > maxBuffered) {
        return refuse('busy', text(503, 'too many requests in flight; retry shortly', { 'retry-after': '1' }));
      }
      let held = announced;
      buffered += held;
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      release = (): void => {
        if (done) return;
        done = true;
        buffered -= held;
        chunks.length = 0;
      };
      res.onData((chunk, isLast) => {
        if (done) return;
        try {
          size += chunk.byteLength;
          if (size > held) {
            buffered += size - held;
            held = size;
          }
          if (size > maxBody || buffered > maxBuffered) {
            release();
            if (size > maxBody) refuse('too_large', text(413, `body larger than ${maxBody} bytes`));
            else refuse('busy', text(503, 'too many requests in flight; retry shortly', { 'retry-after': '1' }));
            return;
          }
          // uWS reuses the chunk's memory after this callback returns.
          chunks.push(Buffer.from(chunk.slice(0)));
          if (isLast) {
            request.body = Buffer.concat(chunks);
            release();
            run();
          }
        } catch (err) {
          release();
          hooks.onError(err, route.pattern);
          respond(text(500, 'internal error'));
        }
      });
    };
    const guarded = (res: HttpResponse, req: HttpRequest): void => {
      try {
        handle(res, req);
      } catch (err) {
        // Never into uWS: a throw here would take every socket of the process with it.
        hooks.onError(err, route.pattern);
        try {
          send(res, text(500, 'internal error'));
        } catch {
          // The response was already answered or aborted.
        }
      }
    };
    app[route.method](route.pattern, guarded);
    // HEAD of every GET route (health checks and proxies use it), answered without a body.
    if (route.method === 'get') app.head(route.pattern, guarded);
  }
}
