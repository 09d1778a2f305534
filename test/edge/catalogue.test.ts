/**
 * Catalogues (issue 17): the emote catalogue of `BARRAGE_EMOTES_FILE` and the
 * gift catalogue served without a key by a real server, emote-only mode
 * checked against the catalogue's codes, and bad catalogue files refused at
 * start with the entry and field named.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../proto/index.js';
import { isEmoteOnly } from '../../domain/emotes.js';
import { TestClient } from '../helpers/client.js';
import { testConfig } from '../helpers/config.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { errorOf, eventOf, moderate } from '../moderation/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-catalogue-'));
const file = (name: string, content: unknown): string => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

const emotes = {
  emotes: [
    { code: '[doge]', url: 'https://cdn.example/doge.png', width: 28, height: 28, name: 'doge' },
    { code: '[233]', url: '/emotes/233.gif', width: 32 },
    { code: ':wave:', url: 'https://cdn.example/wave.webp', width: 24, height: 20 },
  ],
};

describe('catalogues', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      BARRAGE_EMOTES_FILE: file('emotes.json', emotes),
      BARRAGE_EMOTES: '[plain]',
      BARRAGE_DANMAKU_RATE: '100',
    });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('catalogues - GET /api/v1/emotes and /api/v1/gifts answer without a key, cacheable, for any origin', async () => {
    const res = await fetch(`${server.url}/api/v1/emotes`);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toContain('max-age=300');
    expect(await res.json()).toEqual({
      emotes: [
        { code: '[doge]', url: 'https://cdn.example/doge.png', width: 28, height: 28, name: 'doge' },
        { code: '[233]', url: '/emotes/233.gif', width: 32, height: 32, name: '[233]' },
        { code: ':wave:', url: 'https://cdn.example/wave.webp', width: 24, height: 20, name: ':wave:' },
      ],
      codes: ['[plain]'],
    });
    const gifts = await fetch(`${server.url}/api/v1/gifts`);
    expect(gifts.status).toBe(200);
    const body = (await gifts.json()) as { gifts: Array<Record<string, unknown>>; super_chat_tiers: unknown[]; max_count: number };
    expect(body.gifts.map((g) => g['id'])).toEqual(['heart', 'flower', 'cake', 'rocket', 'castle']);
    expect(body.gifts[3]).toEqual({ id: 'rocket', name: 'Rocket', price_cents: 5000, image_url: '/gifts/rocket.svg', tier: 3 });
    expect(body.super_chat_tiers).toHaveLength(5);
    expect(body.max_count).toBe(9999);
  });

  it('catalogues - emote-only mode admits text made of catalogue codes and spaces, and refuses anything else', async () => {
    const room = 'emote-only';
    const mod = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'mod', role: 'moderator' })));
    const viewer = await TestClient.connect(server.wsUrl(room, await server.token({ room, user: 'v' })));
    moderate(mod, { roomMode: { emoteOnly: true } });
    await eventOf(viewer, 'roomMode');
    for (const text of ['[doge]', '[doge][233] :wave:', '[plain] [doge]']) {
      viewer.danmaku(text);
      await eventOf(viewer, 'danmaku', (e) => e.danmaku?.text === text);
    }
    for (const text of ['[doge] hi', '[dog]', 'wave']) {
      const from = viewer.errors.length;
      viewer.danmaku(text);
      expect((await errorOf(viewer, ErrorCode.ERROR_CODE_ROOM_MODE, from)).message).toContain('emote only');
    }
    mod.close();
    viewer.close();
  });

  it('catalogues - emote-only reads every split of the text into codes, whichever code is longest', () => {
    const codes = ['ab', 'abc', 'cd'];
    expect(isEmoteOnly('abcd', codes)).toBe(true); // ab + cd, though abc matches first
    expect(isEmoteOnly('abc abcd', codes)).toBe(true);
    expect(isEmoteOnly('abce', codes)).toBe(false);
    expect(isEmoteOnly('   ', codes)).toBe(false);
    expect(isEmoteOnly('x'.repeat(1000), ['x', 'xx', 'xxx'])).toBe(true);
    expect(isEmoteOnly('x'.repeat(999) + 'y', ['x', 'xx', 'xxx'])).toBe(false);
  });

  it('catalogues - a bad emotes file stops the start naming the entry and field', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{ not json', /BARRAGE_EMOTES_FILE .*JSON/],
      [{ emotes: [] }, /non-empty "emotes" array/],
      [{ emotes: [{ code: 'has space', url: '/x.png', width: 20 }] }, /emotes\[0\]\.code must be 1 to 32 characters without spaces/],
      [{ emotes: [{ code: '[a]', url: 'javascript:alert(1)', width: 20 }] }, /emotes\[0\]\.url must be an http\(s\) URL/],
      [{ emotes: [{ code: '[a]', url: '/a.png', width: 2000 }] }, /emotes\[0\]\.width must be an integer from 8 to 512/],
      [{ emotes: [{ code: '[a]', url: '/a.png', width: 20, height: 'tall' }] }, /emotes\[0\]\.height/],
      [
        {
          emotes: [
            { code: '[a]', url: '/a.png', width: 20 },
            { code: '[a]', url: '/b.png', width: 20 },
          ],
        },
        /emotes\[1\]\.code "\[a\]" appears twice/,
      ],
    ];
    for (const [i, [content, message]] of cases.entries()) {
      expect(() => testConfig({ BARRAGE_EMOTES_FILE: file(`bad-${i}.json`, content) })).toThrow(message);
    }
    expect(() => testConfig({ BARRAGE_EMOTES_FILE: join(dir, 'missing.json') })).toThrow(/BARRAGE_EMOTES_FILE .*missing\.json/);
  });
});
