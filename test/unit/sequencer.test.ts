import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../domain/bus-memory.js';
import { createLogger } from '../../domain/logger.js';
import { MemorySequencer } from '../../core/sequencing/sequencer-memory.js';
import { subjects } from '../../domain/subjects.js';
import { v1 } from '../../proto/index.js';

function setup(retainEvents = 10, joinHistory = 3) {
  const bus = new MemoryBus();
  const sequencer = new MemorySequencer(bus, { retainEvents, joinHistory, logger: createLogger('silent') });
  sequencer.start();
  const out: v1.Event[] = [];
  bus.subscribe(subjects.events('r'), (d) => out.push(v1.Event.decode(d)));
  const send = (text: string) => bus.publish(subjects.ingress('r'), v1.Event.encode({ danmaku: { text } }).finish());
  const notice = (text: string) => bus.publish(subjects.ingress('r'), v1.Event.encode({ notice: { text } }).finish());
  const history = async (resume: boolean, afterSeq = 0) =>
    v1.HistoryReply.decode(await bus.request(subjects.history('r'), v1.HistoryRequest.encode({ resume, afterSeq }).finish(), 1000));
  return { bus, sequencer, out, send, notice, history };
}

describe('sequencer - per-room order and history', () => {
  it('sequencer - numbers events 1..n per room with time and danmaku ids', async () => {
    const { bus, out, send } = setup();
    for (const t of ['a', 'b', 'c']) send(t);
    await bus.flush();
    expect(out.map((e) => [e.seq, e.room, e.danmaku?.text, e.danmaku?.id])).toEqual([
      [1, 'r', 'a', '1'],
      [2, 'r', 'b', '2'],
      [3, 'r', 'c', '3'],
    ]);
    expect(out.every((e) => e.tsMs > 0)).toBe(true);
  });

  it('sequencer - a join gets the last N chat events only', async () => {
    const { bus, send, notice, history } = setup(10, 2);
    send('a');
    notice('n');
    send('b');
    send('c');
    await bus.flush();
    const reply = await history(false);
    expect(reply.seq).toBe(4);
    expect(reply.events.map((e) => e.danmaku?.text)).toEqual(['b', 'c']);
  });

  it('sequencer - a resume inside the window gets every event after last_seq and recovered=true', async () => {
    const { bus, send, notice, history } = setup(10, 2);
    send('a');
    notice('n');
    send('b');
    await bus.flush();
    const reply = await history(true, 1);
    expect(reply.recovered).toBe(true);
    expect(reply.events.map((e) => e.seq)).toEqual([2, 3]);
    expect(reply.events[0]?.notice?.text).toBe('n');
    expect((await history(true, 3)).events).toEqual([]);
    expect((await history(true, 3)).recovered).toBe(true);
  });

  it('sequencer - a resume older than the window or from the future is recovered=false with recent chat', async () => {
    const { bus, send, history } = setup(3, 2);
    for (let i = 0; i < 6; i++) send(`m${i}`);
    await bus.flush();
    const old = await history(true, 1);
    expect(old.recovered).toBe(false);
    expect(old.events.map((e) => e.danmaku?.text)).toEqual(['m4', 'm5']);
    expect((await history(true, 99)).recovered).toBe(false);
    expect((await history(true, 3)).recovered).toBe(true); // seq 4..6 are retained
  });

  it('sequencer - online counts are summed over edges and do not take a seq', async () => {
    const { bus, out, send, sequencer } = setup();
    send('a');
    bus.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: 'e1', rooms: { r: 3 } }).finish());
    bus.publish(subjects.presence, v1.EdgePresence.encode({ edgeId: 'e2', rooms: { r: 4 } }).finish());
    await bus.flush();
    // The push runs on a 1 s tick; call it directly rather than wait.
    (sequencer as unknown as { pushOnline(): void }).pushOnline();
    await bus.flush();
    const online = out.filter((e) => e.online);
    expect(online).toHaveLength(1);
    expect(online[0]?.online?.count).toBe(7);
    expect(online[0]?.seq).toBe(1);
  });
});
