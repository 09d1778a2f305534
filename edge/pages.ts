/**
 * The pages the edge serves in single-process mode: the widget bundle, the
 * demo page (with a token minted for the visitor), the OBS overlay page and
 * the moderator console page.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Route, RouteResponse } from '../domain/http.js';
import { packageRoot } from '../domain/paths.js';

/** Escapes a value for an HTML attribute or text. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Options of the page routes. */
export interface PageOptions {
  /** Mints a demo token for a visitor of `room`; absent unless `Config.demoTokens` (visitors are then read-only guests). */
  mintDemoToken?: (room: string, user: string) => Promise<string>;
  defaultRoom?: string;
}

function readOptional(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** The widget's lazily loaded chunks (`dist/widget/chunks/*.js`, content-hashed names) by file name. */
function readChunks(dir: string): Map<string, string> {
  const chunks = new Map<string, string>();
  if (!existsSync(dir)) return chunks;
  for (const name of readdirSync(dir)) if (/^[\w-]+\.js$/.test(name)) chunks.set(name, readFileSync(join(dir, name), 'utf8'));
  return chunks;
}

/** Routes for `/widget.js` and its `/chunks/*.js`, `/`, `/overlay` and `/moderate`. Files are read once, at start. */
export function pageRoutes(options: PageOptions): Route[] {
  const root = packageRoot();
  const widget = readOptional(join(root, 'dist/widget/widget.js'));
  const chunks = readChunks(join(root, 'dist/widget/chunks'));
  const demo = readOptional(join(root, 'widget/pages/demo.html'));
  const overlay = readOptional(join(root, 'widget/pages/overlay.html'));
  const moderate = readOptional(join(root, 'widget/pages/moderate.html'));
  const replay = readOptional(join(root, 'widget/pages/replay.html'));
  const html = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
  const missing = (what: string) => ({
    status: 503,
    headers: { 'content-type': 'text/plain' },
    body: `${what} is not built; run \`npm run build\``,
  });
  const notBuilt = { description: 'not built (run `npm run build`)', contentType: 'text/plain' };
  let visitors = 0;
  return [
    {
      method: 'get',
      pattern: '/widget.js',
      doc: {
        tag: 'pages',
        summary: 'The widget bundle (<barrage-overlay>, <barrage-chat>)',
        responses: { 200: { description: 'an ES module', contentType: 'text/javascript' }, 503: notBuilt },
      },
      handler: () =>
        widget === undefined
          ? missing('widget.js')
          : {
              status: 200,
              headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=300' },
              body: widget,
            },
    },
    {
      method: 'get',
      pattern: '/chunks/:file',
      doc: {
        tag: 'pages',
        summary: 'A lazily loaded chunk of the widget (content-hashed name, imported by /widget.js)',
        params: { file: 'the chunk file name, e.g. cards-3f2a1b.js' },
        responses: { 200: { description: 'an ES module', contentType: 'text/javascript' }, 404: { description: 'no such chunk' } },
      },
      handler: (req) => {
        const chunk = chunks.get(req.params[0] ?? '');
        const response: RouteResponse =
          chunk === undefined
            ? { status: 404, headers: { 'content-type': 'text/plain' }, body: 'no such chunk' }
            : {
                status: 200,
                // The name holds the content hash: the same name always means the same bytes.
                headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' },
                body: chunk,
              };
        return response;
      },
    },
    {
      method: 'get',
      pattern: '/',
      doc: {
        tag: 'pages',
        summary: 'The demo page (with a token minted for the visitor when BARRAGE_DEMO_TOKENS is on)',
        query: { room: { description: 'the room to show (default demo)' } },
        responses: { 200: { description: 'HTML', contentType: 'text/html' }, 503: notBuilt },
      },
      handler: async (req) => {
        if (demo === undefined) return missing('the demo page');
        const room = req.query.get('room') || options.defaultRoom || 'demo';
        const token = options.mintDemoToken ? await options.mintDemoToken(room, `visitor-${++visitors}`) : '';
        const body = demo.replaceAll('{{ROOM}}', escapeHtml(room)).replaceAll('{{TOKEN}}', escapeHtml(token));
        return { status: 200, headers: html, body };
      },
    },
    // Browsers ask for it on every page; an empty answer keeps their consoles clean.
    {
      method: 'get',
      pattern: '/favicon.ico',
      doc: { tag: 'pages', summary: 'An empty icon, so browsers stop asking', responses: { 204: { description: 'nothing' } } },
      handler: () => ({ status: 204, headers: { 'cache-control': 'public, max-age=86400' }, body: '' }),
    },
    {
      method: 'get',
      pattern: '/overlay',
      doc: {
        tag: 'pages',
        summary: 'The OBS overlay page (docs/widget.md lists its query parameters)',
        responses: { 200: { description: 'HTML', contentType: 'text/html' }, 503: notBuilt },
      },
      handler: () => (overlay === undefined ? missing('the overlay page') : { status: 200, headers: html, body: overlay }),
    },
    {
      method: 'get',
      pattern: '/moderate',
      doc: {
        tag: 'pages',
        summary:
          "The moderator console alone, for a second screen (the moderator's token goes in the address's #token=, never in the query)",
        query: { room: { description: 'the room to moderate' } },
        responses: { 200: { description: 'HTML', contentType: 'text/html' }, 503: notBuilt },
      },
      handler: () => (moderate === undefined ? missing('the moderator page') : { status: 200, headers: html, body: moderate }),
    },
    {
      method: 'get',
      pattern: '/replay',
      doc: {
        tag: 'pages',
        summary:
          "The replay demo: a recording's danmaku in step with a player (`?video=`, default demo-replay; a token for the video minted for the visitor when BARRAGE_DEMO_TOKENS is on, or `?token=`)",
        query: {
          video: { description: 'the video to replay (default demo-replay)' },
          token: { description: 'a token for the video (its id as room)' },
        },
        responses: { 200: { description: 'HTML', contentType: 'text/html' }, 503: notBuilt },
      },
      handler: async (req) => {
        if (replay === undefined) return missing('the replay page');
        const video = req.query.get('video') || 'demo-replay';
        const token = options.mintDemoToken ? await options.mintDemoToken(video, `visitor-${++visitors}`) : '';
        return { status: 200, headers: html, body: replay.replaceAll('{{TOKEN}}', escapeHtml(token)) };
      },
    },
  ];
}
