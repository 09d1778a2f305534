import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { mintToken } from '../../domain/auth.js';
import { testSecret } from '../helpers/server.js';
import { cliDefaults } from '../helpers/process.js';
import { buildWidget, launchBrowser, waitForTexts } from './browser.js';
import { TestClient } from '../helpers/client.js';
import { freePort } from '../../bench/lib/ports.js';

/**
 * Barrage in a child process, so the test can kill it for real and start a
 * new one on the same port. (In-process, a stopped server keeps Chromium's
 * idle HTTP keep-alive connections and cannot listen on its port again: an
 * edge issue, reported.)
 */
async function startBarrage(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/barrage.ts', 'start'], {
    env: { ...process.env, ...cliDefaults, PORT: String(port), HOST: '127.0.0.1', BARRAGE_SECRET: testSecret, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  // tsx compiles on start; on two busy cores that can take several seconds.
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { connection: 'close' } }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('barrage did not start');
}

describe('connection', () => {
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let barrage: ChildProcess | undefined;

  beforeAll(async () => {
    buildWidget();
    ({ browser, close: closeBrowser } = await launchBrowser());
  });
  afterAll(async () => {
    await closeBrowser?.();
    barrage?.kill('SIGKILL');
  });

  it('connection - reconnects after the server is killed and restarted, and resumes from its last seq', async () => {
    const port = await freePort();
    barrage = await startBarrage(port);
    const say = async (text: string) => {
      const token = await mintToken(new TextEncoder().encode(testSecret), { room: 'phoenix', user: 'bob', name: 'Bob', role: 'viewer' });
      const bob = await TestClient.connect(`ws://127.0.0.1:${port}/ws?room=phoenix&token=${token}`);
      bob.danmaku(text, { color: 0xffffff });
      await bob.until(() => bob.texts().includes(text), 10_000, text);
      bob.close();
    };
    const page = await browser.newPage({ viewport: { width: 960, height: 540 } });
    await page.goto(`http://127.0.0.1:${port}/?room=phoenix`);
    const conn = () =>
      page.evaluate(() => {
        const c = document.querySelector('barrage-overlay')!.activeConnection!;
        return { state: c.state, opens: c.opens, lastSeq: c.lastSeq, resumedFrom: c.resumedFrom };
      });
    await page.waitForFunction(() => document.querySelector('barrage-overlay')?.activeConnection?.state === 'open');
    await say('before the restart');
    await waitForTexts(page, ['before the restart']);
    expect((await conn()).lastSeq).toBe(1);

    barrage.kill('SIGKILL');
    await page.waitForFunction(() => document.querySelector('barrage-overlay')!.activeConnection!.state !== 'open');
    barrage = await startBarrage(port);
    await page.waitForFunction(() => document.querySelector('barrage-overlay')!.activeConnection!.opens >= 2, undefined, {
      timeout: 15_000,
    });
    const after = await conn();
    expect(after.state).toBe('open');
    expect(after.resumedFrom).toBe(1); // it asked to resume with &since=1

    // The new process's room starts again at seq 1: the widget must not take it for a duplicate.
    await say('after the restart');
    await waitForTexts(page, ['after the restart']);
    await page.close();
  });
});
