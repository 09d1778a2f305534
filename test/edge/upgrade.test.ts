import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Role } from '../../proto/index.js';
import { mintToken } from '../../domain/auth.js';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const refusal = async (url: string) => {
  try {
    const c = await TestClient.connect(url);
    c.close();
    return { status: 101, body: '' };
  } catch (err) {
    return err as { status: number; body: string };
  }
};

describe('upgrade - token checked before any socket state', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ BARRAGE_GUEST_ROOMS: 'lobby' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('upgrade - a valid token joins with its identity in the welcome', async () => {
    const c = await TestClient.connect(
      server.wsUrl('r1', await server.token({ room: 'r1', user: 'alice', name: 'Alice', role: 'moderator' })),
    );
    expect(c.welcome).toMatchObject({ room: 'r1', userId: 'alice', name: 'Alice', role: Role.ROLE_MODERATOR, edgeId: 'test-edge' });
    expect(c.welcome?.limits?.maxTextLength).toBe(100);
    c.close();
  });

  it('upgrade - missing, malformed, badly signed, expired and wrong-room tokens are refused with clear statuses', async () => {
    const forged = await mintToken(new TextEncoder().encode('x'.repeat(40)), { room: 'r1', user: 'u', name: 'n', role: 'viewer' });
    const expired = await server.token({ room: 'r1', ttlSeconds: -60 });
    const otherRoom = await server.token({ room: 'r2' });
    expect(await refusal(server.wsUrl('r1'))).toMatchObject({ status: 401, body: 'this room needs a token' });
    expect(await refusal(server.wsUrl('r1', 'not-a-jwt'))).toMatchObject({ status: 401 });
    expect(await refusal(server.wsUrl('r1', forged))).toMatchObject({ status: 401 });
    expect(await refusal(server.wsUrl('r1', expired))).toMatchObject({ status: 401, body: 'token expired' });
    expect(await refusal(server.wsUrl('r1', otherRoom))).toMatchObject({ status: 403, body: 'token is for another room' });
    expect((await refusal(server.wsUrl('bad room!'))).status).toBe(400);
    expect((await refusal(server.wsUrl('r1', undefined, { since: 'abc' }))).status).toBe(400);
    expect(server.edge.connectionCount).toBe(0);
  });

  it('upgrade - a guest room admits read-only guests; their sends are refused, reads work', async () => {
    const guest = await TestClient.connect(server.wsUrl('lobby'));
    expect(guest.welcome?.role).toBe(Role.ROLE_GUEST);
    guest.danmaku('hi');
    await guest.until(() => guest.errors.length === 1);
    expect(guest.errors[0]?.code).toBe(ErrorCode.ERROR_CODE_READ_ONLY);
    const viewer = await TestClient.connect(server.wsUrl('lobby', await server.token({ room: 'lobby' })));
    viewer.danmaku('hello guests');
    await guest.until(() => guest.texts().includes('hello guests'));
    guest.close();
    viewer.close();
  });

  it('upgrade - 300 token joins in a row, each closing before the next, all get their welcome', async () => {
    // Regression: upgrading from a promise continuation that ran inside the
    // previous socket's close callback dropped the new socket (1006).
    for (let i = 0; i < 300; i++) {
      const c = await TestClient.connect(server.wsUrl(`seq${i}`, await server.token({ room: `seq${i}` })));
      expect(c.welcome?.room).toBe(`seq${i}`);
      c.close();
    }
  });

  it('upgrade - refusals are counted in /metrics', async () => {
    const text = await (await fetch(server.url + '/metrics')).text();
    expect(text).toMatch(/barrage_upgrades_total\{result="wrong_room"\} [1-9]/);
    expect(text).toMatch(/barrage_upgrades_total\{result="expired"\} [1-9]/);
  });
});
