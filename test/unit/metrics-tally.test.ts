import { describe, expect, it } from 'vitest';
import { EdgeMetrics } from '../../edge/metrics.js';

/** The value of one series in the exposition text, or undefined when absent. */
async function series(metrics: EdgeMetrics, line: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('edge metrics - per-frame counters', () => {
  it('edge metrics - counts kept off the hot path are exact at every scrape, per label, and keep adding up', async () => {
    const m = new EdgeMetrics(false);
    for (let i = 0; i < 1000; i++) m.framesIn.inc({ kind: 'ping' });
    m.framesIn.inc({ kind: 'resume' }, 3);
    m.rateLimited.inc({ limit: 'frames' });
    m.errors.inc({ code: 'ERROR_CODE_RATE_LIMITED' }, 2);
    expect(await series(m, 'barrage_frames_in_total{kind="ping"}')).toBe(1000);
    expect(await series(m, 'barrage_frames_in_total{kind="resume"}')).toBe(3);
    expect(await series(m, 'barrage_frames_in_total{kind="like"}')).toBe(0);
    expect(await series(m, 'barrage_rate_limited_total{limit="frames"}')).toBe(1);
    expect(await series(m, 'barrage_errors_total{code="ERROR_CODE_RATE_LIMITED"}')).toBe(2);
    m.framesIn.inc({ kind: 'ping' });
    m.framesIn.inc({ kind: 'newkind' });
    expect(await series(m, 'barrage_frames_in_total{kind="ping"}')).toBe(1001);
    expect(await series(m, 'barrage_frames_in_total{kind="newkind"}')).toBe(1);
    // A scrape with nothing new changes nothing.
    expect(await series(m, 'barrage_frames_in_total{kind="ping"}')).toBe(1001);
  });
});
