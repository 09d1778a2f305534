/**
 * A resume position is (epoch, seq), as in Centrifugo: a restarted single
 * process starts every room's seq again, so a seq from before the restart
 * must not be answered as recovered once the new seqs pass it.
 */
import { describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';

describe('resume epoch - seqs compare only within one epoch', () => {
  it('resume epoch - after a restart whose seqs passed the client, a resume with the old epoch is not recovered and gets the state', async () => {
    const before = await startTestServer();
    const room = 'epoch-room';
    const sender = await TestClient.connect(before.wsUrl(room, await before.token({ room, user: 'writer' })));
    for (const t of ['a', 'b', 'c']) sender.danmaku(t);
    await sender.until(() => sender.chat().length === 3, 5000, 'three danmaku');
    const oldEpoch = sender.welcome?.epoch ?? '';
    expect(oldEpoch).not.toBe('');
    sender.close();
    await before.stop();

    const after = await startTestServer();
    try {
      const writer = await TestClient.connect(after.wsUrl(room, await after.token({ room, user: 'writer' })));
      expect(writer.welcome?.epoch).not.toBe(oldEpoch);
      for (const t of ['d', 'e', 'f', 'g', 'h']) writer.danmaku(t);
      await writer.until(() => writer.chat().length === 5, 5000, 'five danmaku');
      // The old client comes back from seq 3 of the old epoch: the new room is at 5, but nothing it has follows that 3.
      const back = await TestClient.connect(after.wsUrl(room, undefined, { since: '3', epoch: oldEpoch }));
      expect(back.welcome?.recovered).toBe(false);
      expect(back.welcome?.epoch).toBe(writer.welcome?.epoch);
      // A client of this epoch from seq 3 is recovered with what followed.
      const current = await TestClient.connect(after.wsUrl(room, undefined, { since: '3', epoch: writer.welcome?.epoch ?? '' }));
      expect(current.welcome?.recovered).toBe(true);
      const replayed = current.frames.flatMap((f) => (f.batch?.history ? (f.batch.events ?? []) : [])).map((e) => e.danmaku?.text);
      expect(replayed).toEqual(['g', 'h']);
      for (const c of [writer, back, current]) c.close();
    } finally {
      await after.stop();
    }
  });

  it('resume epoch - an epoch longer than any the server hands out is refused at the upgrade', async () => {
    const server = await startTestServer();
    try {
      await expect(TestClient.connect(server.wsUrl('r', undefined, { since: '1', epoch: 'x'.repeat(65) }))).rejects.toMatchObject({
        status: 400,
      });
    } finally {
      await server.stop();
    }
  });
});
