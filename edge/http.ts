/**
 * Plain HTTP routes on the uWebSockets.js app. Handlers are async functions
 * returning a response; this file does the uWS parts (abort tracking, corking,
 * reading the body) once, so route code never touches a uWS response.
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';

/** What a route handler sees of a request. */
export interface RouteRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  params: string[];
  body: Buffer;
}

/** What a route handler returns. */
export interface RouteResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Uint8Array;
}

/** One route: a uWS pattern (`/api/v1/rooms/:room/gifts`) and its handler. */
export interface Route {
  method: 'get' | 'post' | 'put' | 'del' | 'any';
  pattern: string;
  handler: (req: RouteRequest) => RouteResponse | Promise<RouteResponse>;
  /** Largest body accepted; larger bodies get 413. Default 64 KiB. */
  maxBody?: number;
}

const statusText: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
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

function send(res: HttpResponse, out: RouteResponse): void {
  res.cork(() => {
    res.writeStatus(`${out.status} ${statusText[out.status] ?? ''}`.trim());
    for (const [k, v] of Object.entries(out.headers ?? {})) res.writeHeader(k, v);
    res.end(out.body);
  });
}

/** Registers `routes` on `app`. Handler errors become a 500 and are passed to `onError`. */
export function mountRoutes(app: TemplatedApp, routes: readonly Route[], onError: (err: unknown) => void): void {
  for (const route of routes) {
    const paramCount = (route.pattern.match(/:/g) ?? []).length;
    const maxBody = route.maxBody ?? 64 * 1024;
    app[route.method](route.pattern, (res: HttpResponse, req: HttpRequest) => {
      // Everything read from `req` must be read now: it is invalid after return.
      const headers: Record<string, string> = {};
      req.forEach((k, v) => (headers[k] = v));
      const request: RouteRequest = {
        method: req.getCaseSensitiveMethod().toUpperCase(),
        path: req.getUrl(),
        query: new URLSearchParams(req.getQuery() ?? ''),
        headers,
        params: Array.from({ length: paramCount }, (_, i) => decodeURIComponent(req.getParameter(i) ?? '')),
        body: Buffer.alloc(0),
      };
      let aborted = false;
      res.onAborted(() => (aborted = true));
      const respond = (out: RouteResponse): void => {
        if (!aborted) send(res, out);
      };
      const run = (): void => {
        Promise.resolve()
          .then(() => route.handler(request))
          .then(respond, (err: unknown) => {
            onError(err);
            respond({ status: 500, headers: { 'content-type': 'text/plain' }, body: 'internal error' });
          });
      };
      if (request.method === 'GET' || request.method === 'HEAD') {
        run();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      res.onData((chunk, isLast) => {
        if (refused) return;
        size += chunk.byteLength;
        if (size > maxBody) {
          refused = true;
          respond({ status: 413, headers: { 'content-type': 'text/plain' }, body: `body larger than ${maxBody} bytes` });
          return;
        }
        // uWS reuses the chunk's memory after this callback returns.
        chunks.push(Buffer.from(chunk.slice(0)));
        if (isLast) {
          request.body = Buffer.concat(chunks);
          run();
        }
      });
    });
  }
}
