/**
 * The table from `Event.kind` members to webhook kinds: one row per kind the
 * .proto declares (a kind added later fails here, naming the row to add),
 * and the JSON a receiver gets for each row's kind.
 */
import { describe, expect, it } from 'vitest';
import { EventKind } from '../../proto/gen/tables.js';
import { v1 } from '../../proto/index.js';
import { defaultWebhookKinds, webhookKindOf, webhookKindOfEvent, webhookKinds } from '../../domain/webhook-kinds.js';
import { itemOfEvent, webhookEventId } from '../../core/webhooks/webhook-event.js';
import { testConfig } from '../helpers/config.js';

describe('webhook kinds - the table', () => {
  it('webhook kinds - every Event kind of the .proto has a row in domain/webhook-kinds.ts', () => {
    const missing = Object.keys(EventKind).filter((k) => !Object.hasOwn(webhookKindOfEvent, k));
    expect(missing, `add a row for each to webhookKindOfEvent in domain/webhook-kinds.ts: ${missing.join(', ')}`).toEqual([]);
    const stale = Object.keys(webhookKindOfEvent).filter((k) => !Object.hasOwn(EventKind, k));
    expect(stale, 'rows for kinds the .proto no longer has').toEqual([]);
  });

  it('webhook kinds - default is every kind but join and leave; names not in the table are refused', () => {
    expect([...testConfig().webhooks.kinds].sort()).toEqual([...defaultWebhookKinds].sort());
    expect(defaultWebhookKinds).not.toContain('join');
    expect([...testConfig({ BARRAGE_WEBHOOK_EVENTS: '*' }).webhooks.kinds].sort()).toEqual([...webhookKinds].sort());
    expect(() => testConfig({ BARRAGE_WEBHOOK_EVENTS: 'danmaku,chat' })).toThrow(/BARRAGE_WEBHOOK_EVENTS: "chat" is not a webhook kind/);
    expect(() => testConfig({ BARRAGE_WEBHOOK_URL: 'ftp://x' })).toThrow(/BARRAGE_WEBHOOK_URL/);
    expect(() => testConfig({ BARRAGE_WEBHOOK_RETRY_MIN_MS: '5000', BARRAGE_WEBHOOK_RETRY_MAX_MS: '100' })).toThrow(/RETRY_MIN_MS/);
    expect(webhookKindOf('constructor')).toBeUndefined();
    expect(webhookKindOf('online')).toBeUndefined();
  });

  it('webhook kinds - an event becomes JSON with its id, kind, room, seq, time, user and snake_case payload', () => {
    const kinds = new Set(webhookKinds);
    const bytes = v1.Event.encode({
      seq: 7,
      room: 'r1',
      tsMs: 1_800_000_000_000,
      superChat: { id: 'k:1', user: { id: 'u1', name: 'Ann', role: v1.Role.ROLE_VIEWER }, text: 'hi', priceCents: 500 },
    }).finish();
    const item = itemOfEvent(bytes, kinds);
    expect(item?.id).toBe(webhookEventId(bytes));
    expect(JSON.parse(item?.json ?? '{}')).toEqual({
      id: webhookEventId(bytes),
      kind: 'super_chat',
      type: 'super_chat',
      room: 'r1',
      seq: 7,
      ts_ms: 1_800_000_000_000,
      time: '2027-01-15T08:00:00.000Z',
      user: { id: 'u1', name: 'Ann', role: 'viewer' },
      payload: { id: 'k:1', text: 'hi', price_cents: 500 },
    });
    expect(itemOfEvent(bytes, new Set(['danmaku']))).toBeUndefined();
    expect(itemOfEvent(new Uint8Array([0xff, 0xff, 0xff]), kinds)).toBeUndefined();
    const online = v1.Event.encode({ seq: 7, room: 'r1', online: { count: 3 } }).finish();
    expect(itemOfEvent(online, kinds)).toBeUndefined();
  });
});
