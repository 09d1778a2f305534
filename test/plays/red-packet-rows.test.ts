/**
 * Red packets in analytics: the opening (sender, total, count), the progress
 * counter and the end (grabbed, refundable, luckiest) each become a row of
 * `events` with their numbers in the columns a query reads.
 */
import { describe, expect, it } from 'vitest';
import { eventRow } from '../../core/analytics/analytics-rows.js';
import { eventColumns } from '../../core/analytics/analytics-schema.js';
import { v1 } from '../../proto/index.js';

const row = (event: v1.IEvent): Record<string, string> => {
  const cells = (eventRow(v1.Event.encode({ room: 'r', seq: 3, tsMs: 1_000, ...event }).finish(), 2_000) ?? '').split('\t');
  return Object.fromEntries(eventColumns.map((c, i) => [c, cells[i] ?? '']));
};

describe('red packet rows', () => {
  it('red packet rows - opened, progress and ended carry who, how many and how much', () => {
    const opened = row({
      redPacket: { id: 'p1', sender: { id: 'host', name: 'Host' }, totalCents: 1_000, count: 10, keyword: 'gg', greeting: 'hi\tthere' },
    });
    expect(opened).toMatchObject({
      kind: 'red_packet',
      user_id: 'host',
      item_id: 'p1',
      text: 'hi\\tthere',
      count: '10',
      amount_cents: '1000',
    });
    expect(JSON.parse(opened['extra'] as string)).toMatchObject({ mode: 'random', keyword: 'gg', members_only: false, total_cents: 1_000 });

    const progress = row({
      redPacketProgress: { id: 'p1', grabbed: 4, count: 10, grabbedCents: 321, recent: [{ user: { id: 'a' }, amountCents: 99 }], more: 3 },
    });
    expect(progress).toMatchObject({ kind: 'red_packet_progress', item_id: 'p1', count: '4', amount_cents: '321' });
    expect(JSON.parse(progress['extra'] as string)).toEqual({ count: 10, recent: [{ user_id: 'a', amount_cents: 99 }], more: 3 });

    const ended = row({
      redPacketEnded: {
        id: 'p1',
        grabbed: 4,
        count: 10,
        grabbedCents: 321,
        refundableCents: 679,
        expired: true,
        luckiest: { user: { id: 'a' }, amountCents: 99 },
      },
    });
    expect(ended).toMatchObject({ kind: 'red_packet_ended', item_id: 'p1', count: '4', amount_cents: '321' });
    expect(JSON.parse(ended['extra'] as string)).toEqual({
      count: 10,
      grabbed_cents: 321,
      refundable_cents: 679,
      expired: true,
      luckiest: { user_id: 'a', amount_cents: 99 },
    });
  });
});
