/**
 * The moderation callback end to end: a real HTTP receiver started here
 * answers by the danmaku's first word, and viewers see (or do not) the right
 * text. A hostile receiver (slow, huge answers, garbage, 500s, dropped
 * connections) changes nothing but its own messages, under both policies.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { verifyWebhook } from '../../domain/webhook-signature.js';
import { parseAnswer, parseAnswers } from '../../edge/moderation-hook.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { api, errorOf } from './helpers.js';

const secret = 'moderation-hook-test-secret';

/** A receiver whose answer is chosen by the first word of the text. */
class Receiver {
  server: Server;
  url = '';
  bodies: Array<Record<string, unknown>> = [];
  badSignatures = 0;
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;
  /** Sizes of the batches received (batch mode). */
  batches: number[] = [];
  /** Answer batches with one answer too few. */
  garbleBatch = false;
  private open = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (!verifyWebhook(raw, req.headers['barrage-signature'] as string | undefined, secret).ok) this.badSignatures++;
      const parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown> | Array<Record<string, unknown>>;
      const list = Array.isArray(parsed) ? parsed : [parsed];
      this.bodies.push(...list);
      if (Array.isArray(parsed)) this.batches.push(parsed.length);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const answer = () => {
        this.inFlight--;
        if (!Array.isArray(parsed)) return this.answer(String(parsed['text']), res);
        // A batch: one answer per danmaku, in order (only the four actions; hostile answers are tested one by one).
        const answers = parsed.map((b) => Receiver.verdict(String(b['text'])));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.garbleBatch ? answers.slice(1) : answers));
      };
      if (this.delayMs > 0) setTimeout(answer, this.delayMs);
      else answer();
    });
  }

  static verdict(text: string): unknown {
    switch (text.split(' ')[0]) {
      case 'bad':
        return { action: 'reject', reason: 'spam links are not allowed' };
      case 'hold':
        return { action: 'hold', reason: 'looks like a phone number' };
      case 'swap':
        return { action: 'replace', text: 'a kinder text' };
      case 'unknown':
        return { action: 'publish-twice' };
      default:
        return { action: 'allow' };
    }
  }

  private answer(text: string, res: ServerResponse): void {
    const word = text.split(' ')[0];
    const reply = (o: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(o));
    switch (word) {
      case 'ok':
        return reply({ action: 'allow' });
      case 'bad':
        return reply({ action: 'reject', reason: 'spam links are not allowed' });
      case 'hold':
        return reply({ action: 'hold', reason: 'looks like a phone number' });
      case 'swap':
        return reply({ action: 'replace', text: 'a kinder text' });
      case 'swapbad':
        return reply({ action: 'replace', text: 'line one\nline two' });
      case 'slow':
        // Never answered: the edge's deadline decides.
        this.open.add(res);
        return;
      case 'huge':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"action":"allow","reason":"');
        res.end('x'.repeat(1 << 20) + '"}');
        return;
      case 'garbage':
        return void res.writeHead(200).end('{"action": allow');
      case 'unknown':
        return reply({ action: 'publish-twice' });
      case 'fail':
        return void res.writeHead(500).end('oops');
      case 'drop':
        return void res.socket?.destroy();
      default:
        return reply({ action: 'allow' });
    }
  }
}

async function viewer(server: TestServer, room: string, user: string, role: 'viewer' | 'moderator' = 'viewer'): Promise<TestClient> {
  return TestClient.connect(server.wsUrl(room, await server.token({ room, user, name: user, role })));
}

describe('moderation hook - answers parsed', () => {
  it('moderation hook - the four actions and nothing else', () => {
    expect(parseAnswer('{"action":"allow"}')).toEqual({ action: 'allow' });
    expect(parseAnswer('{"action":"reject","reason":"no"}')).toEqual({ action: 'reject', reason: 'no' });
    expect(parseAnswer('{"action":"hold"}')).toEqual({ action: 'hold', reason: '' });
    expect(parseAnswer('{"action":"replace","text":"x"}')).toEqual({ action: 'replace', text: 'x' });
    expect(parseAnswer('{"action":"replace"}')).toBeUndefined();
    expect(parseAnswer('{"action":"reject","reason":"' + 'r'.repeat(500) + '"}')).toEqual({ action: 'reject', reason: 'r'.repeat(200) });
    for (const bad of ['', 'null', '[]', '"allow"', '{"action":"ALLOW"}', '{"action":1}', '{'])
      expect(parseAnswer(bad), bad).toBeUndefined();
    // Batches: one answer per danmaku, in order; a bad element is that danmaku's alone, a wrong length is every one's.
    expect(parseAnswers('[{"action":"allow"},{"action":"nope"},{"action":"reject"}]', 3)).toEqual([
      { action: 'allow' },
      undefined,
      { action: 'reject', reason: '' },
    ]);
    expect(parseAnswers('[{"action":"allow"}]', 2)).toBeUndefined();
    expect(parseAnswers('{"action":"allow"}', 1)).toBeUndefined();
    expect(parseAnswers('[', 1)).toBeUndefined();
  });
});

for (const [policy, batch] of [
  ['open', 1],
  ['closed', 1],
  ['open', 50],
] as const) {
  describe(`moderation hook - ${policy} policy, ${batch === 1 ? 'one danmaku per request' : `batches of up to ${batch}`}, end to end`, () => {
    const receiver = new Receiver();
    let server: TestServer;
    const clients: TestClient[] = [];
    let roomN = 0;
    const room = () => `hook-${policy}-${batch}-${roomN}`;

    beforeAll(async () => {
      await receiver.start();
      server = await startTestServer({
        BARRAGE_MODERATION_HOOK_URL: receiver.url,
        BARRAGE_MODERATION_HOOK_TIMEOUT_MS: '300',
        BARRAGE_MODERATION_HOOK_POLICY: policy,
        BARRAGE_MODERATION_HOOK_BATCH: String(batch),
        // Batches form from what waits for a free request: two slots make that happen in a short test.
        BARRAGE_MODERATION_HOOK_CONCURRENCY: batch > 1 ? '2' : '64',
        BARRAGE_MODERATION_HOOK_SECRET: secret,
        BARRAGE_DANMAKU_RATE: '1000',
        BARRAGE_DANMAKU_BURST: '1000',
        BARRAGE_BATCH_MS: '10',
      });
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
      roomN++;
      receiver.delayMs = 0;
    });
    afterAll(async () => {
      await server.stop();
      await receiver.stop();
    });

    it('moderation hook - allow, reject, hold and replace: viewers see the right text, senders hear why', async () => {
      const r = room();
      const [sender, watcher, mod] = await Promise.all([
        viewer(server, r, 'alice'),
        viewer(server, r, 'bob'),
        viewer(server, r, 'mo', 'moderator'),
      ]);
      clients.push(sender, watcher, mod);
      sender.danmaku('ok hello', { clientMsgId: 'm1' });
      sender.danmaku('bad buy followers at spam.example', { clientMsgId: 'm2' });
      sender.danmaku('hold call 555 0100', { clientMsgId: 'm3' });
      sender.danmaku('swap you are all idiots', { clientMsgId: 'm4' });
      sender.danmaku('ok bye', { clientMsgId: 'm5' });
      await watcher.until(() => watcher.texts().includes('ok bye'), 5000, 'the last allowed danmaku');
      expect(watcher.texts()).toEqual(['ok hello', 'a kinder text', 'ok bye']);
      const rejected = await errorOf(sender, ErrorCode.ERROR_CODE_MODERATION_HOOK_REJECTED);
      expect(rejected.message).toBe('spam links are not allowed');
      expect(rejected.clientMsgId).toBe('m2');
      const held = await errorOf(sender, ErrorCode.ERROR_CODE_HELD);
      expect(held.clientMsgId).toBe('m3');
      await mod.until(() => mod.frames.some((f) => f.held && !f.held.resolved), 5000, 'the held frame');
      const frame = mod.frames.find((f) => f.held)?.held as v1.Held;
      expect(frame.danmaku?.text).toBe('hold call 555 0100');
      expect(frame.matched).toBe('moderation callback: looks like a phone number');
      const list = await api(server.url, server.config.auth.apiKey, 'GET', `/api/v1/rooms/${r}/held`);
      expect(list.body['held']).toEqual([expect.objectContaining({ text: 'hold call 555 0100', user: { id: 'alice', name: 'alice' } })]);
      // The receiver was told who, where and what, signed.
      expect(receiver.bodies.find((b) => b['text'] === 'ok hello')).toEqual(
        expect.objectContaining({ room: r, user: { id: 'alice', name: 'alice', role: 'viewer' }, client_msg_id: 'm1', edge: 'test-edge' }),
      );
      expect(receiver.badSignatures).toBe(0);
      // An approved hold goes to the room.
      const approved = await api(server.url, server.config.auth.apiKey, 'POST', `/api/v1/rooms/${r}/held/${frame.holdId}`, {
        approve: true,
      });
      expect(approved.status).toBe(200);
      await watcher.until(() => watcher.texts().includes('hold call 555 0100'), 5000, 'the approved danmaku');
    });

    // Only batches have an answer length to get wrong; only one-per-request has the hostile cases below.
    const batchOnly = batch > 1 ? it : undefined;
    const singleOnly = batch === 1 ? it : undefined;

    batchOnly?.('moderation hook - a batch answer of the wrong length follows the policy for that batch only', async () => {
      const r = room();
      const [sender, watcher] = await Promise.all([viewer(server, r, 'bat'), viewer(server, r, 'w2')]);
      clients.push(sender, watcher);
      receiver.garbleBatch = true;
      sender.danmaku('bad but the answer is garbled');
      await watcher.until(
        () => watcher.texts().includes('bad but the answer is garbled'),
        5000,
        'the danmaku, published by the open policy',
      );
      receiver.garbleBatch = false;
      sender.danmaku('bad now answered');
      await errorOf(sender, ErrorCode.ERROR_CODE_MODERATION_HOOK_REJECTED);
      sender.danmaku('ok after');
      await watcher.until(() => watcher.texts().includes('ok after'), 5000, 'a later danmaku');
      expect(watcher.texts()).toEqual(['bad but the answer is garbled', 'ok after']);
    });

    singleOnly?.('moderation hook - a hostile receiver changes only its own messages', async () => {
      const r = room();
      const [sender, honest, watcher] = await Promise.all([viewer(server, r, 'eve'), viewer(server, r, 'hal'), viewer(server, r, 'wat')]);
      clients.push(sender, honest, watcher);
      const hostile = ['slow one', 'huge two', 'garbage three', 'unknown four', 'fail five', 'drop six', 'swapbad seven'];
      for (const [i, text] of hostile.entries()) {
        sender.danmaku(text, { clientMsgId: `h${i}` });
        honest.danmaku(`ok honest ${i}`);
      }
      await watcher.until(() => watcher.texts().filter((t) => t.startsWith('ok honest')).length === hostile.length, 5000, 'honest danmaku');
      // Every honest danmaku arrives once and in order, whatever happened to the others.
      expect(watcher.texts().filter((t) => t.startsWith('ok honest'))).toEqual(hostile.map((_, i) => `ok honest ${i}`));
      if (policy === 'open') {
        await watcher.until(() => hostile.every((t) => watcher.texts().includes(t)), 5000, 'the hostile-answered danmaku, published');
        expect(watcher.texts().filter((t) => !t.startsWith('ok honest'))).toEqual(hostile);
        expect(sender.errors).toEqual([]);
      } else {
        await sender.until(() => sender.errors.length === hostile.length, 5000, 'an answer to each');
        // Three wait for a moderator (the per-user limit of holds); the rest are refused with that limit.
        expect(sender.errors.filter((e) => e.code === ErrorCode.ERROR_CODE_HELD)).toHaveLength(3);
        expect(sender.errors.filter((e) => e.code === ErrorCode.ERROR_CODE_LIMIT_REACHED)).toHaveLength(hostile.length - 3);
        expect(watcher.texts().filter((t) => !t.startsWith('ok honest'))).toEqual([]);
      }
      // The edge still answers and publishes afterwards.
      sender.danmaku('ok still here');
      await watcher.until(() => watcher.texts().includes('ok still here'), 5000, 'a later danmaku');
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/barrage_moderation_hook_total\{action="[a-z]+",failure="timeout"\} [1-9]/);
      expect(metrics).toMatch(/failure="bad_answer"\} [1-9]/);
    });

    it('moderation hook - requests are pipelined, not sequential', async () => {
      const r = room();
      const [sender, watcher] = await Promise.all([viewer(server, r, 'pip'), viewer(server, r, 'w')]);
      clients.push(sender, watcher);
      receiver.maxInFlight = 0;
      receiver.delayMs = 50;
      const n = 40;
      for (let i = 0; i < n; i++) sender.danmaku(`ok p${i}`);
      await watcher.until(() => watcher.texts().length === n, 5000, 'every danmaku');
      // In order although answered concurrently.
      expect(watcher.texts()).toEqual(Array.from({ length: n }, (_, i) => `ok p${i}`));
      if (batch === 1) expect(receiver.maxInFlight).toBeGreaterThan(1);
      // Batches: what waited while a request was out went together.
      else expect(Math.max(...receiver.batches)).toBeGreaterThan(1);
    });
  });
}

describe('moderation hook - a receiver that is not there', () => {
  it('moderation hook - connection refused follows the policy (open: published)', async () => {
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const server = await startTestServer({ BARRAGE_MODERATION_HOOK_URL: `http://127.0.0.1:${port}/hook` });
    try {
      const [sender, watcher] = await Promise.all([viewer(server, 'gone', 'a'), viewer(server, 'gone', 'b')]);
      sender.danmaku('nobody checks this');
      await watcher.until(() => watcher.texts().includes('nobody checks this'), 5000, 'the danmaku');
      sender.close();
      watcher.close();
    } finally {
      await server.stop();
    }
  });
});
