/**
 * The catalogues a site (and the widget) builds its pickers from, documented
 * in docs/api.md under "Catalogues": public (no API key: they hold nothing
 * secret, and the widget on the site's page fetches them cross-origin), made
 * once from the configuration and cacheable for five minutes.
 *
 * - `GET /api/v1/emotes`: the emote catalogue (`BARRAGE_EMOTES_FILE`), code -> image and size
 * - `GET /api/v1/gifts`: the gift catalogue (`BARRAGE_GIFTS_FILE` or the built-in one) and super chat tiers
 */
import type { GiftConfig } from '../../domain/config-gifts.js';
import type { EmoteDef } from '../../domain/emotes.js';
import type { Route, RouteResponse } from '../../domain/http.js';
import { s } from '../../domain/openapi.js';

const headers = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'public, max-age=300',
  'access-control-allow-origin': '*',
};

/** A fixed JSON answer, encoded once. */
const fixed = (body: unknown): (() => RouteResponse) => {
  const text = JSON.stringify(body);
  return () => ({ status: 200, headers, body: text });
};

/** The catalogue routes. */
export function catalogueRoutes(o: { emotes: readonly EmoteDef[]; plainEmotes: readonly string[]; gifts: GiftConfig }): Route[] {
  const imageCodes = new Set(o.emotes.map((e) => e.code));
  const emotes = {
    emotes: o.emotes.map((e) => ({ code: e.code, url: e.url, width: e.width, height: e.height, name: e.name })),
    // Codes of BARRAGE_EMOTES without an image: text to the widget, still emotes for emote-only mode.
    codes: o.plainEmotes.filter((c) => !imageCodes.has(c)),
  };
  const gifts = {
    gifts: [...o.gifts.gifts.values()].map((g) => ({
      id: g.id,
      name: g.name,
      price_cents: g.priceCents,
      image_url: g.imageUrl,
      tier: g.tier,
    })),
    super_chat_tiers: o.gifts.superChatTiers.map((t) => ({ min_cents: t.minCents, pin_seconds: t.pinSeconds, color: t.color })),
    max_count: o.gifts.maxGiftCount,
  };
  return [
    {
      method: 'get',
      pattern: '/api/v1/emotes',
      public: true,
      doc: {
        tag: 'catalogues',
        summary: 'The emote catalogue: each code with its image and size',
        description:
          'Public and cacheable (5 minutes), with CORS for every origin: the widget and the site build emote pickers from it. `codes` lists BARRAGE_EMOTES codes without an image.',
        responses: {
          200: {
            description: 'the catalogue',
            schema: s.object({
              emotes: s.array(s.object({ code: s.string(), url: s.string(), width: s.integer(), height: s.integer(), name: s.string() })),
              codes: s.array(s.string()),
            }),
          },
        },
      },
      handler: fixed(emotes),
    },
    {
      method: 'get',
      pattern: '/api/v1/gifts',
      public: true,
      doc: {
        tag: 'catalogues',
        summary: 'The gift catalogue and super chat tiers',
        description: 'Public and cacheable (5 minutes), with CORS for every origin: a site builds its gift picker from it.',
        responses: {
          200: {
            description: 'the catalogue',
            schema: s.object({
              gifts: s.array(
                s.object({ id: s.string(), name: s.string(), price_cents: s.integer(), image_url: s.string(), tier: s.integer() }),
              ),
              super_chat_tiers: s.array(s.object({ min_cents: s.integer(), pin_seconds: s.integer(), color: s.integer() })),
              max_count: s.integer('largest count of one gift'),
            }),
          },
        },
      },
      handler: fixed(gifts),
    },
  ];
}
