import { describe, expect, it } from 'vitest';
import { extraOf, guestIdentity, newConn } from '../../edge/connection.js';

describe('connection - per-socket state stays small', () => {
  it('connection - a new connection has at most 15 properties (V8 keeps larger objects as slower dictionaries)', () => {
    const conn = newConn(
      { room: 'r', identity: guestIdentity, session: 1, since: -1, sinceEpoch: '', ip: undefined },
      { framesBurst: 100, danmakuBurst: 5 },
      0,
    );
    expect(Object.keys(conn).length).toBeLessThanOrEqual(15);
    expect(conn.extra).toBeUndefined();
  });

  it('connection - extra state is allocated once, on first need, with full buckets', () => {
    const conn = newConn(
      { room: 'r', identity: guestIdentity, session: 1, since: -1, sinceEpoch: '', ip: undefined },
      { framesBurst: 100, danmakuBurst: 5 },
      0,
    );
    const extra = extraOf(conn, { resumeBurst: 3, moderateBurst: 30 }, 1000);
    expect(extra.resume.tokens).toBe(3);
    expect(extra.moderate.tokens).toBe(30);
    expect(extraOf(conn, { resumeBurst: 3, moderateBurst: 30 }, 2000)).toBe(extra);
  });
});
