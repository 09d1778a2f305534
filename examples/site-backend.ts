/**
 * A site's backend next to Barrage, in plain node:http (docs/integration.md
 * walks through it): login mints a viewer token, a payment records a gift
 * with the order id as its Idempotency-Key, a webhook receiver checks the
 * signature and de-duplicates by event id, and a moderation callback decides
 * on each danmaku before it is published.
 *
 * In your site, import from 'barrage/server'; this file imports the source
 * so the repository's tests run it without a build.
 *
 *   BARRAGE_URL=http://127.0.0.1:8080 BARRAGE_API_KEY=... BARRAGE_SECRET=... \
 *   WEBHOOK_SECRET=... MODERATION_SECRET=... node --import tsx examples/site-backend.ts
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { BarrageApiError, BarrageClient, mintViewerToken, verifyWebhook } from '../sdk/server.js';

/** What the example backend needs. */
export interface SiteOptions {
  /** Where Barrage's edges are (a getter: tests learn it after both servers start). */
  barrageUrl: () => string;
  apiKey: string;
  /** BARRAGE_SECRET: signs viewer tokens. */
  tokenSecret: string;
  /** BARRAGE_WEBHOOK_SECRET. */
  webhookSecret: string;
  /** BARRAGE_MODERATION_HOOK_SECRET (optional). */
  moderationSecret?: string;
  /** Called with each new webhook event (after de-duplication). */
  onEvent?: (event: { id: string; kind: string; room: string | null; payload?: Record<string, unknown> }) => void;
}

/** The largest body this backend reads (webhook batches are the largest). */
const maxBody = 1 << 20;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBody) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const send = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/**
 * The site's own moderation rule (a real site would ask its classifier):
 * links are refused, phone numbers held for a person, shouting lowered.
 */
export function decide(text: string): { action: string; reason?: string; text?: string } {
  if (/https?:\/\//i.test(text)) return { action: 'reject', reason: 'links are not allowed in chat' };
  if (/\d{3}[ -]?\d{4}/.test(text)) return { action: 'hold', reason: 'looks like a phone number' };
  if (text.length > 8 && text === text.toUpperCase() && /[A-Z]/.test(text)) return { action: 'replace', text: text.toLowerCase() };
  return { action: 'allow' };
}

/** Starts the backend on `port` (0: a free one). */
export function createSiteBackend(o: SiteOptions): Server {
  const client = () => new BarrageClient({ baseUrl: o.barrageUrl(), apiKey: o.apiKey });
  /** Event ids seen (a real site keeps them in its database, 24 h or more). */
  const seen = new Set<string>();

  return createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const json = () => JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      switch (`${req.method} ${req.url}`) {
        // 1. Login: your session says who the user is; Barrage only needs a signed token.
        case 'POST /login': {
          const { user, name, room } = json() as { user: string; name: string; room: string };
          const token = await mintViewerToken(o.tokenSecret, { room, user, name, role: 'viewer', ttlSeconds: 3600 });
          return send(res, 200, {
            token,
            ws: `${o.barrageUrl().replace(/^http/, 'ws')}/ws?room=${encodeURIComponent(room)}&token=${token}`,
          });
        }
        // 2. Payment confirmed by your provider: record the gift once, keyed by the order id.
        case 'POST /pay': {
          const { user, name, room, gift, count, order_id } = json() as {
            user: string;
            name: string;
            room: string;
            gift: string;
            count: number;
            order_id: string;
          };
          try {
            const r = await client().sendGift(room, { user: { id: user, name }, gift, count }, { idempotencyKey: `order-${order_id}` });
            return send(res, 200, { seq: r.body.seq, replayed: r.replayed });
          } catch (err) {
            // A typed error: 4xx is the request's fault; 503 after the client's retries means "try again later".
            if (err instanceof BarrageApiError) return send(res, err.retryable ? 503 : 400, { error: err.code });
            return send(res, 503, { error: 'BARRAGE_UNREACHABLE' });
          }
        }
        // 3. Webhooks: verify the raw body before parsing, answer 2xx fast, de-duplicate by event id.
        case 'POST /webhooks/barrage': {
          const check = verifyWebhook(body, req.headers['barrage-signature'] as string | undefined, o.webhookSecret);
          if (!check.ok) return send(res, 400, { error: check.reason });
          const { events } = json() as { events: Array<{ id: string; kind: string; room: string | null }> };
          for (const e of events) {
            if (seen.has(e.id)) continue;
            seen.add(e.id);
            o.onEvent?.(e);
          }
          return send(res, 200, { received: events.length });
        }
        // 4. The moderation callback: one danmaku (or an array, with BARRAGE_MODERATION_HOOK_BATCH > 1); answer within the timeout.
        case 'POST /moderation': {
          if (o.moderationSecret && !verifyWebhook(body, req.headers['barrage-signature'] as string | undefined, o.moderationSecret).ok)
            return send(res, 401, { error: 'bad signature' });
          const danmaku = JSON.parse(body.toString('utf8')) as { text: string } | Array<{ text: string }>;
          return send(res, 200, Array.isArray(danmaku) ? danmaku.map((d) => decide(d.text)) : decide(danmaku.text));
        }
        default:
          return send(res, 404, { error: 'not found' });
      }
    })().catch((err: unknown) => send(res, 500, { error: String(err) }));
  });
}

// Run directly: the settings from the environment.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const env = (name: string): string => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is required`);
    return v;
  };
  const server = createSiteBackend({
    barrageUrl: () => env('BARRAGE_URL'),
    apiKey: env('BARRAGE_API_KEY'),
    tokenSecret: env('BARRAGE_SECRET'),
    webhookSecret: env('WEBHOOK_SECRET'),
    ...(process.env['MODERATION_SECRET'] ? { moderationSecret: process.env['MODERATION_SECRET'] } : {}),
    onEvent: (e) => console.log('event', e.kind, e.room, e.id),
  });
  server.listen(Number(process.env['PORT'] ?? 3000), () => console.log('site backend on', server.address()));
}
