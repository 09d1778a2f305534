import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tierOf } from '../../domain/config-gifts.js';
import { ConfigError } from '../../domain/errors.js';
import { v1 } from '../../proto/index.js';
import { ChatAllowance, planWindow } from '../../edge/overload.js';
import { testConfig } from '../helpers/config.js';

const file = (content: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'gifts-')), 'gifts.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

describe('gift config - catalogue checked at start', () => {
  it('gift config - the built-in catalogue and tiers load without a file', () => {
    const config = testConfig().gifts;
    expect(config.gifts.get('rocket')?.priceCents).toBe(5000);
    expect(tierOf(config.superChatTiers, 2500)?.pinSeconds).toBe(120);
    expect(tierOf(config.superChatTiers, 10)).toBeUndefined();
  });

  it('gift config - a file replaces the catalogue; mistakes are ConfigErrors naming the field', () => {
    const ok = testConfig({ BARRAGE_GIFTS_FILE: file({ gifts: [{ id: 'star', name: 'Star', priceCents: 99, tier: 2 }] }) }).gifts;
    expect([...ok.gifts.keys()]).toEqual(['star']);
    const bad: Array<[unknown, RegExp]> = [
      ['{not json', /BARRAGE_GIFTS_FILE/],
      [{ gifts: [] }, /non-empty array/],
      [{ gifts: [{ id: 'a b', name: 'x', priceCents: 1 }] }, /gifts\[0\]\.id/],
      [{ gifts: [{ id: 'a', name: 'x', priceCents: -1 }] }, /gifts\[0\]\.priceCents/],
      [
        {
          gifts: [
            { id: 'a', name: 'x', priceCents: 1 },
            { id: 'a', name: 'y', priceCents: 1 },
          ],
        },
        /appears twice/,
      ],
      [{ gifts: [{ id: 'a', name: 'x', priceCents: 1, imageUrl: 'javascript:alert(1)' }] }, /imageUrl/],
      [{ superChatTiers: [{ minCents: 1 }] }, /pinSeconds/],
    ];
    for (const [content, message] of bad) {
      expect(() => testConfig({ BARRAGE_GIFTS_FILE: file(content) })).toThrow(ConfigError);
      expect(() => testConfig({ BARRAGE_GIFTS_FILE: file(content) })).toThrow(message);
    }
    expect(() => testConfig({ BARRAGE_RECEIPT_SECRET: 'short' })).toThrow(/BARRAGE_RECEIPT_SECRET must be at least 32 bytes/);
  });
});

describe('overload plan - decided once per room per window', () => {
  const chat = (seq: number) => v1.Event.encode({ seq, room: 'r', danmaku: { text: `m${seq}` } }).finish();
  const gift = (seq: number) => v1.Event.encode({ seq, room: 'r', gift: { id: `g${seq}` } }).finish();
  const options = { budget: 40, buckets: 4, merge: false, mergeMaxLength: 8 };

  it('overload plan - within budget: one frame for everyone', () => {
    const plan = planWindow([chat(1), gift(2), chat(3)], new ChatAllowance(20, 0), 25, options);
    expect(plan.kind).toBe('all');
  });

  it('overload plan - over budget: each group gets every paid event and its own sample, skipped adds up', () => {
    const events = Array.from({ length: 200 }, (_, i) => (i % 50 === 0 ? gift(i + 1) : chat(i + 1)));
    const plan = planWindow(events, new ChatAllowance(20, 0), 0, options);
    if (plan.kind !== 'sampled') throw new Error('expected a sampled plan');
    expect(plan.groups).toHaveLength(4);
    const samples = new Set<string>();
    for (const g of plan.groups) {
      expect(g.items.filter((it) => !it.chat)).toHaveLength(4);
      expect(g.items.filter((it) => it.chat)).toHaveLength(20);
      expect(g.skipped).toBe(196 - 20);
      const seqs = g.items.map((it) => v1.Event.decode(it.bytes).seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      samples.add(seqs.join(','));
    }
    expect(samples.size).toBeGreaterThan(1);
  });
});
