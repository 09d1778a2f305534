import { describe, expect, it } from 'vitest';
import { mintToken } from '../../domain/auth.js';
import { TestClient } from '../helpers/client.js';
import { startCli } from '../helpers/process.js';

const secret = 'shutdown-secret-shutdown-secret-shutdown-0123';

describe('shutdown - SIGTERM drains the edge', () => {
  it('shutdown - batched danmaku are delivered, then every socket closes with 4000 and the process exits 0', async () => {
    // A long batching window so the danmaku is still pending when SIGTERM arrives.
    const proc = await startCli(['start'], { env: { BARRAGE_SECRET: secret, BARRAGE_BATCH_MS: '1000' } });
    const token = await mintToken(new TextEncoder().encode(secret), { room: 'sd', user: 'u', name: 'U', role: 'viewer' });
    const clients = await Promise.all(
      Array.from({ length: 20 }, () => TestClient.connect(`ws://127.0.0.1:${proc.port}/ws?room=sd&token=${token}`)),
    );
    // The first danmaku of a quiet room goes out at once (leading edge); the
    // next one waits for the 1 s window and is pending when SIGTERM arrives.
    clients[0]!.danmaku('first');
    await clients[1]!.until(() => clients[1]!.texts().length === 1);
    clients[0]!.danmaku('last words');
    await new Promise((r) => setTimeout(r, 100));
    expect(clients[1]!.texts()).toEqual(['first']);
    proc.child.kill('SIGTERM');
    await Promise.all(clients.map((c) => c.closed()));
    for (const c of clients) {
      expect(c.texts()).toEqual(['first', 'last words']);
      expect(c.closeCode).toBe(4000);
      expect(c.closeReason).toBe('server shutting down; reconnect elsewhere');
    }
    expect(await proc.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${proc.port}/healthz`)).rejects.toThrow();
  });
});
