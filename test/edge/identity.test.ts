/**
 * Badges and medals (issue 17): what a token claims reaches every viewer on
 * the `User` of the sender's danmaku and gifts, with the built-in badges of
 * the role and membership; a token with a claim out of bounds is refused at
 * the upgrade with the reason.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('identity', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('identity - badges and medal of the token ride on the sender of each danmaku; plain viewers carry none', async () => {
    const room = 'badges';
    const watcher = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'w' })));
    const fan = await TestClient.connect(
      server.wsUrl(
        room,
        await server.token({
          room,
          user: 'fan',
          name: 'Fan',
          member: true,
          badges: ['vip', 'founder'],
          medal: { name: '弹幕团', level: 12 },
        }),
      ),
    );
    const host = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'h', name: 'Host', role: 'host' })));
    const plain = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'p', name: 'Plain' })));
    fan.danmaku('hello from a fan');
    host.danmaku('hello from the host');
    plain.danmaku('hello from nobody special');
    await watcher.until(() => watcher.chat().length === 3, 5_000, 'three danmaku');
    const byText = new Map(watcher.chat().map((e) => [e.danmaku?.text, e.danmaku?.user]));
    expect(byText.get('hello from a fan')).toMatchObject({
      id: 'fan',
      badges: ['member', 'vip', 'founder'],
      medal: { name: '弹幕团', level: 12 },
    });
    expect(byText.get('hello from the host')).toMatchObject({ id: 'h', badges: ['host'] });
    expect(byText.get('hello from the host')?.medal).toBeNull();
    expect(byText.get('hello from nobody special')?.badges).toEqual([]);
    for (const c of [watcher, fan, host, plain]) c.close();
  });

  it('identity - a token whose badges or medal are out of bounds is refused at the upgrade with the reason', async () => {
    const room = 'badges-bad';
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ room, role: 'viewer', ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u')
        .setExpirationTime('1h')
        .sign(server.config.auth.secret);
    const tooMany = await sign({ badges: Array.from({ length: 9 }, (_, i) => `b${i}`) });
    await expect(TestClient.connect(server.wsUrl(room, tooMany))).rejects.toMatchObject({
      status: 401,
      body: expect.stringMatching(/badges/),
    });
    const badMedal = await sign({ medal: { name: 'Fans', level: 0 } });
    await expect(TestClient.connect(server.wsUrl(room, badMedal))).rejects.toMatchObject({
      status: 401,
      body: expect.stringMatching(/medal/),
    });
    // The server stays up and admits a good token.
    const ok = await TestClient.connect(server.wsUrl(room, await sign({ badges: ['vip'] })));
    expect(ok.welcome?.userId).toBe('u');
    ok.close();
  });
});
