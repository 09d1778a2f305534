/**
 * The analytics `kind` column comes from the .proto (the generated tables),
 * so a kind added there is stored under its own name, never as `unknown`.
 */
import { describe, expect, it } from 'vitest';
import { counterKindColumns, eventRow } from '../../core/analytics/analytics-rows.js';
import { eventColumns } from '../../core/analytics/analytics-schema.js';
import { v1 } from '../../proto/index.js';
import { EventKind, EventKindProtoName } from '../../proto/gen/tables.js';

describe('analytics rows - kind column', () => {
  it('analytics rows - every event kind of the .proto is stored under its .proto name', () => {
    const kindColumn = eventColumns.indexOf('kind');
    for (const kind of Object.keys(EventKind) as EventKind[]) {
      const row = eventRow(v1.Event.encode({ room: 'r', seq: 1, tsMs: 1_000, [kind]: {} }).finish(), 2_000);
      expect(row?.split('\t')[kindColumn], kind).toBe(EventKindProtoName[kind]);
    }
    expect(eventRow(v1.Event.encode({ room: 'r', seq: 1, superChatRemoved: { id: 's' } }).finish(), 0)?.split('\t')[kindColumn]).toBe(
      'super_chat_removed',
    );
  });

  it('analytics rows - the counter kinds, as the kind column spells them', () => {
    expect([...counterKindColumns].sort()).toEqual([
      'join_notice',
      'leaderboard',
      'likes',
      'lottery_progress',
      'online',
      'poll_tally',
      'red_packet_progress',
    ]);
  });
});
