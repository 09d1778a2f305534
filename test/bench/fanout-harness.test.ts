import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v1 } from '../../proto/index.js';
import { Sender, Viewers, runStep, startServer } from '../../bench/fanout/harness.js';
import type { ServerProcess } from '../../bench/fanout/harness.js';
import { danmakuText, encodeMessage } from '../../bench/fanout/protocols.js';

// Tiny scale on purpose: this keeps the benchmark harness working, it measures nothing.
describe('bench', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer('barrage', { batchMs: 10 });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('bench - sender frames are valid ClientFrames carrying the send stamp', () => {
    const frame = encodeMessage('barrage', 1_700_000_000_123_456);
    // Client frame: 2-byte header, 4-byte zero mask, then the payload as is.
    const decoded = v1.ClientFrame.decode(frame.subarray(6));
    expect(decoded.sendDanmaku?.clientMsgId).toBe('1700000000123456');
    expect(decoded.sendDanmaku?.text).toBe(danmakuText);
  });

  it('bench - harness measures delivery against a live server', async () => {
    const count = 40;
    const viewers = await Viewers.connect({ server, room: 'smoke', count, processes: 2, sampleEvery: 4 });
    const sender = await Sender.connect(server, 'smoke');
    try {
      const step = await runStep(server, viewers, sender, count, { rate: 50, durationMs: 2_500, drainMs: 3_000 });
      expect(step.sent).toBe(125);
      expect(step.senderErrors).toBe(0);
      // Not overloaded: every message reached every viewer, counted once.
      expect(step.completeness).toBe(1);
      const final = await viewers.snapshot();
      expect(final.messages).toBe(step.sent * count);
      expect(final.open).toBe(count);
      expect(step.deliveredPerSec).toBeGreaterThan(0.5 * 50 * count);
      expect(step.p50).toBeGreaterThan(0);
      expect(step.p99).toBeLessThan(2_000);
      expect(step.serverCpu).toBeGreaterThan(0);
      expect(step.serverRss).toBeGreaterThan(10 * 1024 * 1024);
    } finally {
      sender.close();
      await viewers.close();
    }
  });
});
