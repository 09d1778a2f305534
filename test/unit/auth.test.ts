import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from '../../core/auth.js';

const secret = new TextEncoder().encode('unit-secret-unit-secret-unit-secret-0123');
const other = new TextEncoder().encode('other-secret-other-secret-other-secret-99');

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('auth - tokens', () => {
  it('auth - a minted token verifies for its room with its claims', async () => {
    const token = await mintToken(secret, { room: 'r1', user: 'u1', name: 'Alice', role: 'moderator' });
    const id = await verifyToken(secret, token, 'r1');
    expect(id).toMatchObject({ userId: 'u1', name: 'Alice', room: 'r1', role: 'moderator', member: false });
  });

  it('auth - refuses expired, wrong-room, badly signed, malformed and claimless tokens with distinct codes', async () => {
    const expired = await mintToken(secret, { room: 'r1', user: 'u', name: 'n', role: 'viewer', ttlSeconds: -60 });
    const good = await mintToken(secret, { room: 'r1', user: 'u', name: 'n', role: 'viewer' });
    const forged = await mintToken(other, { room: 'r1', user: 'u', name: 'n', role: 'viewer' });
    const noExp = await new SignJWT({ room: 'r1' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').sign(secret);
    const badRole = await new SignJWT({ room: 'r1', role: 'king' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime('1h')
      .sign(secret);
    const noRoom = await new SignJWT({ role: 'viewer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .setExpirationTime('1h')
      .sign(secret);
    const none = good.split('.').slice(0, 2).join('.') + '.';
    expect(await codeOf(verifyToken(secret, expired, 'r1'))).toBe('TOKEN_EXPIRED');
    expect(await codeOf(verifyToken(secret, good, 'r2'))).toBe('TOKEN_ROOM');
    expect(await codeOf(verifyToken(secret, forged, 'r1'))).toBe('TOKEN');
    expect(await codeOf(verifyToken(secret, noExp, 'r1'))).toBe('TOKEN');
    expect(await codeOf(verifyToken(secret, badRole, 'r1'))).toBe('TOKEN');
    expect(await codeOf(verifyToken(secret, noRoom, 'r1'))).toBe('TOKEN');
    expect(await codeOf(verifyToken(secret, none, 'r1'))).toBe('TOKEN');
    expect(await codeOf(verifyToken(secret, 'garbage', 'r1'))).toBe('TOKEN');
  });

  it('auth - a wildcard room is honoured only for admins', async () => {
    const admin = await mintToken(secret, { room: '*', user: 'a', name: 'Admin', role: 'admin' });
    const viewer = await mintToken(secret, { room: '*', user: 'v', name: 'V', role: 'viewer' });
    expect((await verifyToken(secret, admin, 'any-room')).role).toBe('admin');
    expect(await codeOf(verifyToken(secret, viewer, 'any-room'))).toBe('TOKEN_ROOM');
  });

  it('auth - long display names are cut to 64 code points', async () => {
    const token = await mintToken(secret, { room: 'r', user: 'u', name: '名'.repeat(100), role: 'viewer' });
    expect([...(await verifyToken(secret, token, 'r')).name]).toHaveLength(64);
  });
});
