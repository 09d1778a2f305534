/**
 * Chaos: webhooks in a cluster (two cores sharing the durable consumer, two
 * edges) while an edge and then a core are SIGKILLed mid-stream. The site
 * posts gifts through both edges, retrying with the same Idempotency-Key
 * until one is acknowledged; the receiver (a real HTTP server started here)
 * must get every acknowledged gift, signed, and the cores must not both
 * deliver what neither lost (duplicates only from the killed core's
 * unacknowledged events, which JetStream gives to the other core after the
 * ack wait).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';
import { RoleProcess } from '../nats/helpers/roles.js';
import { Receiver } from '../webhooks/receiver.js';

const apiKey = 'chaos-webhooks-'.padEnd(40, 'w');
const secret = 'whsec-chaos-0123456789';
const room = 'chaoshooks';
const total = 600;

describe('chaos - webhooks while an edge and a core are SIGKILLed', () => {
  let nats: NatsSetup;
  const receiver = new Receiver(secret);
  const procs: RoleProcess[] = [];

  beforeAll(async () => {
    await receiver.start();
    nats = await startNats();
    const env = {
      BARRAGE_API_KEY: apiKey,
      BARRAGE_RETAIN_EVENTS: '5000',
      BARRAGE_WEBHOOK_URL: receiver.url,
      BARRAGE_WEBHOOK_SECRET: secret,
      BARRAGE_WEBHOOK_EVENTS: 'gift',
      BARRAGE_WEBHOOK_BATCH_MS: '20',
      BARRAGE_WEBHOOK_RETRY_MIN_MS: '50',
      BARRAGE_WEBHOOK_RETRY_MAX_MS: '500',
    };
    // Cores first: the durable is created at new events, before any gift.
    procs.push(await RoleProcess.start('core', 'hooks-core-1', nats.urls, env));
    procs.push(await RoleProcess.start('core', 'hooks-core-2', nats.urls, env));
    procs.push(await RoleProcess.start('edge', 'hooks-edge-1', nats.urls, env));
    procs.push(await RoleProcess.start('edge', 'hooks-edge-2', nats.urls, env));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await nats?.stop();
    await receiver.stop();
  });

  it('chaos - every acknowledged gift reaches the receiver across an edge kill and a core kill', { timeout: 240_000 }, async () => {
    const [core1, , edge1, edge2] = procs as [RoleProcess, RoleProcess, RoleProcess, RoleProcess];
    // Let the durable consumer exist before the first gift (it starts at new events).
    await sleep(2_000);
    const acknowledged = new Set<string>();
    const post = async (n: number): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const edge = (n + attempt) % 2 === 0 && edge1.alive ? edge1 : edge2;
        try {
          const res = await fetch(`http://127.0.0.1:${edge.port}/api/v1/rooms/${room}/gifts`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': `w-${n}`, 'content-type': 'application/json' },
            body: JSON.stringify({ user: { id: `u${n % 50}` }, gift: 'flower' }),
            signal: AbortSignal.timeout(15_000),
          });
          await res.text();
          if (res.status === 200 || res.status === 201) {
            acknowledged.add(`k:w-${n}`);
            return;
          }
        } catch {
          // The edge died under the request, or core did not answer: retry with the same key.
        }
        await sleep(100);
      }
    };
    const posting = (async () => {
      for (let n = 0; n < total; n += 10) await Promise.all(Array.from({ length: 10 }, (_, i) => post(n + i)));
    })();
    await expect.poll(() => acknowledged.size, { timeout: 60_000 }).toBeGreaterThan(total / 4);
    await edge1.stop('SIGKILL');
    await expect.poll(() => acknowledged.size, { timeout: 60_000 }).toBeGreaterThan(total / 2);
    // The receiver refuses for a while, so both cores hold gifts unacknowledged when core 1 dies.
    receiver.answer = () => 503;
    const failedBefore = receiver.requests.length;
    await expect.poll(() => receiver.requests.length - failedBefore, { timeout: 30_000 }).toBeGreaterThan(10);
    await core1.stop('SIGKILL');
    receiver.answer = () => 200;
    await posting;
    expect(acknowledged.size).toBe(total);

    const delivered = () => new Set(receiver.events().map((e) => (e['payload'] as { id: string }).id));
    // The killed core's unacknowledged events come to the other core after the 60 s ack wait.
    await expect.poll(() => [...acknowledged].filter((id) => !delivered().has(id)).length, { timeout: 150_000, interval: 1_000 }).toBe(0);
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    // One event per gift: every delivery of a gift carries the same event id.
    const byGift = new Map<string, Set<string>>();
    for (const e of receiver.events()) {
      const id = (e['payload'] as { id: string }).id;
      byGift.set(id, (byGift.get(id) ?? new Set()).add(e.id));
    }
    expect([...byGift.values()].every((ids) => ids.size === 1)).toBe(true);
    const deliveries = receiver.events().length;
    // Duplicates only from what the killed core held unacknowledged (at most its queue), never a second copy of everything.
    expect(deliveries).toBeLessThan(total * 1.5);
    console.log(`webhook chaos: ${total} gifts acknowledged, ${deliveries} deliveries (${deliveries - total} repeated)`);
  });
});
