/**
 * `barrage start` keeps its sessions and videos across a restart (the file
 * video store in BARRAGE_VIDEOS_DIR): a registered VOD, an ended session
 * (its replay) and a session still open are all there after the process
 * stops and starts again on the same directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'barrage-videos-restart-'));
const started: TestServer[] = [];

async function start(): Promise<TestServer & { api(method: string, path: string, body?: unknown): Promise<Response> }> {
  const server = await startTestServer({ BARRAGE_VIDEOS_DIR: dir });
  started.push(server);
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.config.auth.apiKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return Object.assign(server, { api });
}

describe('replay - one process restarting', () => {
  afterAll(async () => {
    for (const s of started) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('replay - sessions (open and ended) and VODs survive a restart of barrage start', async () => {
    const first = await start();
    expect((await first.api('PUT', '/api/v1/videos/ep-restart', { duration_ms: 120_000 })).status).toBe(201);
    const ended = (await (await first.api('POST', '/api/v1/rooms/show-a/sessions', {})).json()) as { session_id: string };
    expect((await first.api('POST', `/api/v1/rooms/show-a/sessions/${ended.session_id}/end`, {})).status).toBe(200);
    const open = (await (await first.api('POST', '/api/v1/rooms/show-b/sessions', {})).json()) as { session_id: string };
    await first.stop();

    const second = await start();
    const vod = await fetch(`${second.url}/api/v1/videos/ep-restart`);
    expect(vod.status).toBe(200);
    expect(await vod.json()).toMatchObject({ duration_ms: 120_000 });
    expect((await fetch(`${second.url}/api/v1/videos/${ended.session_id}`)).status).toBe(200);
    // Still show-b's open session: a second start is refused with its id; ending it works.
    const again = await second.api('POST', '/api/v1/rooms/show-b/sessions', {});
    expect(again.status).toBe(409);
    expect(JSON.stringify(await again.json())).toContain(open.session_id);
    expect((await second.api('POST', `/api/v1/rooms/show-b/sessions/${open.session_id}/end`, {})).status).toBe(200);
  });
});
