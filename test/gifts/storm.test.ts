import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, v1 } from '../../proto/index.js';
import { mintReceipt } from '../../domain/receipts.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess, token } from '../nats/helpers/roles.js';
import { Viewer } from '../nats/helpers/viewer.js';

const apiKey = 's'.repeat(32);
const receiptSecret = 'storm-receipt-secret-storm-receipt-secret';
const env = { BARRAGE_API_KEY: apiKey, BARRAGE_RECEIPT_SECRET: receiptSecret, BARRAGE_RETAIN_EVENTS: '20000' };
const room = 'storm';

/** A widget sending receipts: resends what is unconfirmed after UNAVAILABLE or a lost connection, to whichever edge is alive. */
class ReceiptSender {
  readonly pending = new Map<string, string>();
  confirmed = 0;
  replayed = 0;
  unexpected: string[] = [];
  private ws: WebSocket | undefined;
  private open = false;

  constructor(
    private readonly user: string,
    private readonly url: () => Promise<string>,
  ) {}

  async connect(): Promise<void> {
    const ws = new WebSocket(await this.url());
    this.ws = ws;
    ws.on('message', (data: Buffer) => this.onFrame(v1.ServerFrame.decode(new Uint8Array(data))));
    ws.on('error', () => undefined);
    ws.on('close', () => {
      this.open = false;
      if (this.ws === ws) setTimeout(() => void this.connect(), 100 + Math.random() * 200);
    });
    ws.on('open', () => {
      this.open = true;
      for (const [jti, receipt] of this.pending) this.sendNow(jti, receipt);
    });
  }

  send(jti: string, receipt: string): void {
    this.pending.set(jti, receipt);
    this.sendNow(jti, receipt);
  }

  /** Sends a receipt that was already confirmed: it must be refused as replayed. */
  replay(jti: string, receipt: string): void {
    this.sendNow(`replay-${jti}`, receipt);
  }

  private sendNow(id: string, receipt: string): void {
    if (this.open) this.ws?.send(v1.ClientFrame.encode({ sendGift: { receipt, clientMsgId: id } }).finish());
  }

  private onFrame(frame: v1.ServerFrame): void {
    if (frame.ack) {
      if (this.pending.delete(frame.ack.clientMsgId ?? '')) this.confirmed++;
      return;
    }
    const err = frame.error;
    if (!err) return;
    const id = err.clientMsgId ?? '';
    const code = err.code ?? 0;
    if (code === ErrorCode.ERROR_CODE_RECEIPT_REPLAYED) {
      // A retry of something recorded while we were not listening counts as confirmed; a deliberate replay is just refused.
      if (id.startsWith('replay-')) this.replayed++;
      else if (this.pending.delete(id)) this.confirmed++;
    } else if (code === ErrorCode.ERROR_CODE_UNAVAILABLE) {
      const receipt = this.pending.get(id);
      if (receipt) setTimeout(() => this.sendNow(id, receipt), 300);
    } else this.unexpected.push(`${this.user} ${ErrorCode[code]}: ${err.message}`);
  }

  close(): void {
    const ws = this.ws;
    this.ws = undefined;
    ws?.close();
  }
}

describe('gifts - storm with faults over NATS', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let a: RoleProcess;
  let b: RoleProcess;

  beforeAll(async () => {
    nats = await startNats();
    core = await RoleProcess.start('core', 'gcore', nats.urls, env);
    [a, b] = await Promise.all([RoleProcess.start('edge', 'ga', nats.urls, env), RoleProcess.start('edge', 'gb', nats.urls, env)]);
  });
  afterAll(async () => {
    await Promise.all([a, b, core].map((p) => p?.stop()));
    await nats?.stop();
  });

  it('storm - 10,000 gifts, retried, while an edge is killed and NATS restarts: exactly 10,000 shown and counted', async () => {
    const edge = (i: number) => (i % 2 === 0 && a.alive ? a : b);
    const watcher = await new Viewer((_n, since) => b.wsUrl(room, undefined, since)).start();

    const httpTotal = 8_000;
    const receiptTotal = 2_000;
    const total = httpTotal + receiptTotal;
    let done = 0;
    let httpRetries = 0;
    let duplicatesAnswered = 0;

    // Receipts: 10 widget users, half of them on the edge that will be killed.
    const senders = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const user = `w${i}`;
        const t = await token({ room, user });
        const s = new ReceiptSender(user, async () => edge(i).wsUrl(room, t));
        await s.connect();
        return s;
      }),
    );
    const receipts = await Promise.all(
      Array.from({ length: receiptTotal }, (_, n) =>
        mintReceipt(new TextEncoder().encode(receiptSecret), { user: `w${n % 10}`, room, jti: `rc-${n}`, gift: 'heart' }),
      ),
    );
    await sleep(300);

    const postGift = async (n: number): Promise<void> => {
      const body = JSON.stringify({ user: { id: `u${n % 40}` }, gift: n % 3 === 0 ? 'flower' : 'heart' });
      for (let attempt = 0; ; attempt++) {
        try {
          const res = await fetch(`http://127.0.0.1:${edge(n + attempt).port}/api/v1/rooms/${room}/gifts`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': `h-${n}`, 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(15_000),
          });
          if (res.status === 201 || res.status === 200) {
            if (res.status === 200) duplicatesAnswered++;
            await res.arrayBuffer();
            return;
          }
          expect(res.status, await res.text()).toBe(503);
        } catch {
          // Connection refused (edge killed) or timed out: retry with the same key.
        }
        httpRetries++;
        await sleep(200 + Math.random() * 200);
      }
    };

    const started = Date.now();
    let next = 0;
    let killed = false;
    let restarted: Promise<void> | undefined;
    const worker = async (): Promise<void> => {
      for (let n = next++; n < httpTotal; n = next++) {
        await postGift(n);
        done++;
        // One in ten is sent again on purpose after it was confirmed: answered with the first result.
        if (n % 10 === 0) {
          await postGift(n);
        }
        if (n % 4 === 0) {
          const r = Math.floor(n / 4);
          if (r < receiptTotal) {
            senders[r % 10]!.send(`rc-${r}`, receipts[r]!);
            if (r % 10 === 5) setTimeout(() => senders[r % 10]!.replay(`rc-${r}`, receipts[r]!), 2_000);
          }
        }
        if (!killed && done >= total * 0.25) {
          killed = true;
          void a.stop('SIGKILL');
        }
        if (!restarted && done >= total * 0.5) {
          restarted = (async () => {
            const server = nats.servers[0]!;
            await server.stop('SIGKILL');
            await sleep(500);
            await server.start();
          })();
        }
      }
    };
    await Promise.all(Array.from({ length: 48 }, () => worker()));
    await restarted;
    await expect.poll(() => senders.reduce((n, s) => n + s.confirmed, 0), { timeout: 30_000, interval: 200 }).toBe(receiptTotal);
    const sendSeconds = (Date.now() - started) / 1000;

    const giftEvents = () => watcher.ordered().filter((e) => e.gift);
    await watcher
      .until(() => giftEvents().length >= total, 30_000, `${total} gift events`)
      .catch((err: unknown) => {
        console.log(
          'storm watcher saw',
          giftEvents().length,
          'gift events; last seq',
          watcher.ordered().at(-1)?.seq,
          'resumes',
          watcher.resumesSent,
        );
        throw err;
      });
    await watcher.until(() => Number(watcher.leaderboard?.totalGifts ?? 0) >= total, 10_000, 'leaderboard');
    await sleep(1_500);
    const ids = giftEvents().map((e) => e.gift?.id as string);
    const expected = [
      ...Array.from({ length: httpTotal }, (_, n) => `k:h-${n}`),
      ...Array.from({ length: receiptTotal }, (_, n) => `r:rc-${n}`),
    ];
    console.log(
      `storm: ${total} gifts in ${sendSeconds.toFixed(1)} s; http retries ${httpRetries}, duplicate answers ${duplicatesAnswered},`,
      `replays refused ${senders.reduce((n, s) => n + s.replayed, 0)}, viewer duplicates ${watcher.duplicates}, resumes ${watcher.resumesSent}`,
    );
    expect(senders.flatMap((s) => s.unexpected)).toEqual([]);
    expect(ids.length).toBe(total);
    expect(new Set(ids).size).toBe(total);
    expect([...ids].sort()).toEqual(expected.sort());
    expect(Number(watcher.leaderboard?.totalGifts)).toBe(total);
    const cents = ids.length && Number(watcher.leaderboard?.totalCents);
    const flowers = Math.ceil(httpTotal / 3);
    expect(cents).toBe(flowers * 100 + (total - flowers) * 10);
    expect(duplicatesAnswered).toBeGreaterThanOrEqual(httpTotal / 10);
    // Deliberate replays sent while a socket was down or core away are not retried; the others were all refused.
    expect(senders.reduce((n, s) => n + s.replayed, 0)).toBeGreaterThan(receiptTotal / 20);
    for (const s of senders) s.close();
    watcher.close();
    expect(core.alive && b.alive).toBe(true);
  });
});
