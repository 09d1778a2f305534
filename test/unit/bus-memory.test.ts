import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../domain/bus-memory.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('bus - memory', () => {
  it('bus - delivers to exact and wildcard subscribers in publish order, asynchronously', async () => {
    const bus = new MemoryBus();
    const got: string[] = [];
    bus.subscribe('barrage.room.a.ev', (d, s) => got.push(`exact ${s} ${text(d)}`));
    bus.subscribe('barrage.room.*.ev', (d, s) => got.push(`star ${s} ${text(d)}`));
    bus.subscribe('barrage.>', (d) => got.push(`tail ${text(d)}`));
    bus.publish('barrage.room.a.ev', bytes('1'));
    bus.publish('barrage.room.b.ev', bytes('2'));
    bus.publish('barrage.room.b.in', bytes('3'));
    expect(got).toEqual([]); // nothing re-entrant
    await bus.flush();
    expect(got).toEqual([
      'exact barrage.room.a.ev 1',
      'star barrage.room.a.ev 1',
      'tail 1',
      'star barrage.room.b.ev 2',
      'tail 2',
      'tail 3',
    ]);
  });

  it('bus - unsubscribe stops delivery', async () => {
    const bus = new MemoryBus();
    let n = 0;
    const sub = bus.subscribe('x.y', () => n++);
    bus.publish('x.y', bytes('a'));
    await bus.flush();
    sub.unsubscribe();
    bus.publish('x.y', bytes('b'));
    await bus.flush();
    expect(n).toBe(1);
  });

  it('bus - request reaches a responder; no responder and timeouts are errors with codes', async () => {
    const bus = new MemoryBus();
    bus.serve('svc.*', (d, s) => bytes(`${s}:${text(d)}`));
    expect(text(await bus.request('svc.echo', bytes('hi'), 1000))).toBe('svc.echo:hi');
    await expect(bus.request('nobody', bytes(''), 1000)).rejects.toMatchObject({ code: 'NO_RESPONDER' });
    bus.serve('slow', () => new Promise<Uint8Array>(() => {}));
    await expect(bus.request('slow', bytes(''), 50)).rejects.toMatchObject({ code: 'BUS_TIMEOUT' });
  });

  it('bus - after close, publishes are counted as dropped and requests fail', async () => {
    const bus = new MemoryBus();
    await bus.close();
    bus.publish('a', bytes('x'));
    expect(bus.dropped).toBe(1);
    expect(bus.status()).toBe('closed');
    await expect(bus.request('a', bytes(''), 10)).rejects.toMatchObject({ code: 'BUS_CLOSED' });
  });
});
