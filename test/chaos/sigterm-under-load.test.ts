/**
 * Chaos: SIGTERM to a loaded `barrage start` whose stdout nobody reads. Thousands
 * of viewers, chatters and gifts flowing, analytics (chDB) inserting, and a log
 * shipper that stopped reading: the process must still drain, tell every viewer
 * to reconnect elsewhere, and be gone within its shutdown deadline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RawWs } from '../../bench/lib/raw-ws.js';
import type { FrameSink } from '../../bench/lib/raw-ws.js';
import { mintToken } from '../../domain/auth.js';
import { TestClient } from '../helpers/client.js';
import { scrape } from '../helpers/metrics.js';
import { startCli } from '../helpers/process.js';
import { StalledPipe } from '../process/stalled-pipe.js';

const secret = 'chaos-secret-chaos-secret-chaos-secret-0123456';
const apiKey = 'chaos-api-key-'.padEnd(40, 'k');
const viewers = 3000;
const rooms = 10;
const deadlineMs = 8000;

describe('chaos - SIGTERM under load with a stalled stdout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-chaos-'));
  const pipe = StalledPipe.open();
  afterAll(() => {
    pipe.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`chaos - ${viewers} viewers, chat, gifts and analytics inserting: exits 0 within the deadline, every viewer told 4000`, async () => {
    const proc = await startCli(['start'], {
      stdout: pipe.writer,
      env: {
        BARRAGE_SECRET: secret,
        BARRAGE_API_KEY: apiKey,
        BARRAGE_SHUTDOWN_DEADLINE_MS: String(deadlineMs),
        BARRAGE_ANALYTICS: 'on',
        BARRAGE_ANALYTICS_PATH: join(dir, 'chdb'),
        BARRAGE_ANALYTICS_SPILL: join(dir, 'spill'),
        BARRAGE_DANMAKU_RATE: '1000',
        BARRAGE_DANMAKU_BURST: '1000',
        // Every viewer comes from 127.0.0.1: lift the per-address budgets.
        BARRAGE_IP_UPGRADE_RATE: '1000000',
        BARRAGE_IP_UPGRADE_BURST: '1000000',
        BARRAGE_IP_FRAME_RATE: '10000000',
        BARRAGE_IP_FRAME_BURST: '10000000',
      },
    });
    const base = `http://127.0.0.1:${proc.port}`;

    let frames = 0;
    const sink: FrameSink = { frame: () => void frames++, closed: () => undefined };
    const conns: RawWs[] = [];
    for (let i = 0; i < viewers; i += 250) {
      const batch = Array.from(
        { length: Math.min(250, viewers - i) },
        (_, j) => new RawWs({ host: '127.0.0.1', port: proc.port, path: `/ws?room=load${(i + j) % rooms}`, sink }),
      );
      conns.push(...batch);
      await Promise.all(batch.map((c) => c.opened));
    }

    const chatters = await Promise.all(
      Array.from({ length: rooms }, async (_, r) => {
        const token = await mintToken(new TextEncoder().encode(secret), { room: `load${r}`, user: `c${r}`, name: `C${r}`, role: 'viewer' });
        return TestClient.connect(`ws://127.0.0.1:${proc.port}/ws?room=load${r}&token=${token}`);
      }),
    );
    let sent = 0;
    let giftsAccepted = 0;
    const postGift = (n: number) =>
      fetch(`${base}/api/v1/rooms/load${n % rooms}/gifts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': `g-${n}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user: { id: `u${n % 50}` }, gift: 'heart' }),
      }).then(
        (res) => {
          if (res.status === 201) giftsAccepted++;
          return res.arrayBuffer();
        },
        () => undefined, // refused once the edge stops listening
      );
    // Load that keeps going through the shutdown: 200 danmaku/s across the rooms and 50 gifts/s.
    const load = setInterval(() => {
      for (const c of chatters) c.danmaku(`m${sent++}`);
      if (sent % 40 === 0) for (let g = 0; g < 10; g++) void postGift(sent + g);
    }, 50);

    try {
      // Analytics is inserting into chDB, and viewers are receiving.
      await expect.poll(() => scrape(base, 'barrage_analytics_events_inserted_total'), { timeout: 20_000 }).toBeGreaterThan(0);
      await expect.poll(() => frames, { timeout: 10_000 }).toBeGreaterThan(viewers);
      expect(giftsAccepted).toBeGreaterThan(0);
      // The start lines still wait for the stalled reader.
      expect(await scrape(base, 'barrage_log_queued_bytes')).toBeGreaterThan(0);

      const signalled = Date.now();
      proc.child.kill('SIGTERM');
      const guard = setTimeout(() => proc.child.kill('SIGKILL'), deadlineMs + 10_000);
      const code = await proc.exited;
      clearTimeout(guard);
      const exitMs = Date.now() - signalled;
      await expect.poll(() => conns.filter((c) => c.open).length, { timeout: 10_000 }).toBe(0);
      const told = conns.filter((c) => c.closeCode === 4000).length;
      console.log('chaos sigterm under load', { exitMs, code, signal: proc.child.signalCode, viewers, told, frames, sent, giftsAccepted });
      expect(proc.child.signalCode).toBeNull();
      expect(code).toBe(0);
      expect(exitMs).toBeLessThan(deadlineMs);
      expect(told).toBe(viewers);
    } finally {
      clearInterval(load);
      for (const c of chatters) c.close();
      for (const c of conns) c.close();
    }
  });
});
