/**
 * The moderator console on a cluster (`barrage core` and two `barrage edge`
 * on a real nats-server, Chromium): the console speaks to one edge, viewers
 * watch through the other, and each action takes effect for them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { ErrorCode } from '../../proto/index.js';
import { startNats } from './helpers/nats-server.js';
import type { NatsSetup } from './helpers/nats-server.js';
import { RoleProcess, token } from './helpers/roles.js';
import { TestClient } from '../helpers/client.js';
import { buildWidget, launchBrowser, screenshot } from '../browser/browser.js';

const apiKey = 'cluster-console-api-key-0123456789';
const room = 'modroom';
const feedback = (page: Page) =>
  page.evaluate(() => document.querySelector('barrage-mod-console')?.shadowRoot?.querySelector('.feedback')?.textContent ?? '');
const rowButton = (text: string, action: string) =>
  `barrage-mod-console >> li:has(.text:text-is("${text}")) >> button[data-action=${action}]`;

describe('moderator console - clustered', () => {
  let nats: NatsSetup;
  let core: RoleProcess;
  let edges: RoleProcess[] = [];
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    buildWidget(); // the edges read dist/widget when they start
    nats = await startNats();
    core = await RoleProcess.start('core', 'core-con', nats.urls, { BARRAGE_API_KEY: apiKey });
    edges = await Promise.all(
      ['edge-con-1', 'edge-con-2'].map((id) =>
        RoleProcess.start('edge', id, nats.urls, { BARRAGE_API_KEY: apiKey, BARRAGE_BATCH_MS: '10' }),
      ),
    );
    ({ browser, close: closeBrowser } = await launchBrowser());
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await closeBrowser?.();
    await Promise.all([...edges.map((e) => e.stop()), core?.stop()]);
    await nats?.stop();
  });

  const join = async (edge: RoleProcess, user: string): Promise<TestClient> => {
    const c = await TestClient.connect(edge.wsUrl(room, await token({ room, user, name: user })));
    clients.push(c);
    return c;
  };

  it("console - a moderator on one edge deletes, times out, bans and approves; the other edge's viewers see each", async () => {
    const [e1, e2] = edges as [RoleProcess, RoleProcess];
    // Held danmaku for the approval: the room's filter holds "darn".
    const put = await fetch(`http://127.0.0.1:${e1.port}/api/v1/rooms/${room}/filter`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ terms: ['darn'], action: 'hold' }),
    });
    expect(put.status).toBe(200);

    const mod = await browser.newPage({ viewport: { width: 900, height: 700 } });
    const modToken = await token({ room, user: 'mod', name: 'Mod', role: 'moderator' });
    await mod.goto(`http://127.0.0.1:${e1.port}/moderate?room=${room}#token=${modToken}`);
    await mod.waitForSelector('barrage-mod-console >> [role=tab]');
    // A viewer's overlay on the other edge, and sockets there.
    const viewer = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await viewer.goto(`http://127.0.0.1:${e2.port}/overlay?room=${room}&token=${await token({ room, user: 'watcher', name: 'Watcher' })}`);
    await viewer.waitForFunction(() => (document.querySelector('barrage-overlay') as unknown as { welcomed?: unknown }).welcomed);
    const watcher = await join(e2, 'watcher2');
    const troll = await join(e2, 'troll');
    const spammer = await join(e2, 'spammer');
    const writer = await join(e2, 'writer');

    troll.danmaku('troll line');
    spammer.danmaku('spam line');
    writer.danmaku('a line to delete');
    await mod.waitForSelector(rowButton('a line to delete', 'delete'));
    await watcher.until(() => watcher.texts().includes('a line to delete'), 5000, 'the line on the other edge');
    await mod.click(rowButton('a line to delete', 'delete'));
    await expect.poll(() => feedback(mod)).toBe('Done: Delete');
    await watcher.until(
      () => watcher.frames.some((f) => f.batch?.events?.some((e) => e.retract)),
      5000,
      'the retraction on the other edge',
    );
    await viewer.waitForFunction(
      () =>
        ![...document.querySelector('barrage-overlay')!.shadowRoot!.querySelectorAll('.d')].some(
          (d) => d.textContent === 'a line to delete',
        ),
    );

    await mod.click(rowButton('troll line', 'timeout'));
    await expect.poll(() => feedback(mod)).toBe('Done: Time out troll');
    await expect
      .poll(() => {
        troll.danmaku('still trolling');
        return troll.errors.some((e) => e.code === ErrorCode.ERROR_CODE_MUTED);
      })
      .toBe(true);

    await mod.click(rowButton('spam line', 'ban'));
    await expect.poll(() => feedback(mod)).toBe('Done: Ban spammer');
    await spammer.until(() => spammer.closeCode === 4502, 10_000, 'the ban closing the socket on the other edge');

    // Approve a held danmaku: it reaches the room on the other edge.
    await expect
      .poll(() => {
        if (!writer.errors.some((e) => e.code === ErrorCode.ERROR_CODE_HELD)) writer.danmaku('darn, approved');
        return writer.errors.some((e) => e.code === ErrorCode.ERROR_CODE_HELD);
      })
      .toBe(true);
    await mod.click('barrage-mod-console >> [data-tab=held]');
    await mod.click('barrage-mod-console >> li[data-hold] >> button[data-action=approve]');
    await expect.poll(() => feedback(mod)).toBe('Done: Approve');
    await watcher.until(() => watcher.texts().includes('darn, approved'));
    await screenshot(mod, 'console-cluster');
    await mod.close();
    await viewer.close();
  });
});
