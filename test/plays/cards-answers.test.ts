/**
 * The lottery card says "You are in" only after this viewer pressed Join and
 * the server said yes: a host whose console shares the overlay's connection
 * is answered with the lottery's id when it starts one, and that answer must
 * not mark the host's own card as joined.
 */
import { describe, expect, it } from 'vitest';
import { css, html, nothing } from 'lit';
import { v1 } from '../../proto/index.js';
import { WireReader, WireWriter } from '../../proto/wire.js';
import { useKit } from '../../widget/plays/kit.js';
import { PlayCards } from '../../widget/plays/play-cards.js';
import type { CardsHost } from '../../widget/plays/play-cards.js';

useKit({ html, css, nothing, WireReader, WireWriter });

type Inside = { cards: Map<string, { joined?: boolean }>; join(card: unknown): void };

function cardsWithLottery(): { cards: PlayCards; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  const host = {
    requestUpdate() {},
    element: {} as HTMLElement,
    tr: () => ({}) as ReturnType<CardsHost['tr']>,
    currency: () => 'USD',
    send: (frame: Uint8Array) => sent.push(frame) > 0,
    clockOffsetMs: () => 0,
  } satisfies CardsHost;
  const cards = new PlayCards(host);
  const lottery = v1.Lottery.encode({ id: 'lot-1', prize: 'A poster', winners: 1, endsAtMs: Date.now() + 60_000 }).finish();
  cards.event('lottery', lottery);
  return { cards, sent };
}
const ok = (playId: string) => v1.PlayAnswer.encode({ playId }).finish();

describe('play cards answers', () => {
  it('play cards - the answer to a host starting the lottery does not say "you are in"; the answer to Join does', () => {
    const { cards, sent } = cardsWithLottery();
    const inside = cards as unknown as Inside;
    try {
      cards.answer(ok('lot-1')); // the start's answer, on the same connection
      expect(inside.cards.get('lot-1')?.joined).not.toBe(true);
      inside.join(inside.cards.get('lot-1'));
      expect(v1.ClientFrame.decode(sent[0] as Uint8Array).joinLottery?.id).toBe('lot-1');
      cards.answer(ok('lot-1'));
      expect(inside.cards.get('lot-1')?.joined).toBe(true);
    } finally {
      cards.stop();
    }
  });
});
