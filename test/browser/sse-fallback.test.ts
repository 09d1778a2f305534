/**
 * The widget's SSE fallback in Chromium: with WebSocket unusable (failing
 * at once, or hanging without an answer as a blocking proxy does) the demo
 * page falls back to Server-Sent Events, says so in its state, shows what
 * others send and sends through POST; behind an intermediary that holds
 * whole responses it switches to polling and still delivers.
 */
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { TestClient } from '../helpers/client.js';
import { startTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { buildWidget, launchBrowser, waitForTexts } from './browser.js';

/** Replaces WebSocket with one that fails before opening (`fail`) or never answers (`hang`). */
async function blockWebSocket(page: Page, how: 'fail' | 'hang'): Promise<void> {
  await page.addInitScript((mode) => {
    class Blocked extends EventTarget {
      static readonly CONNECTING = 0;
      static readonly OPEN = 1;
      static readonly CLOSING = 2;
      static readonly CLOSED = 3;
      readyState = 0;
      binaryType = 'blob';
      onopen: ((ev: Event) => void) | null = null;
      onmessage: ((ev: MessageEvent) => void) | null = null;
      onclose: ((ev: CloseEvent) => void) | null = null;
      onerror: ((ev: Event) => void) | null = null;
      constructor(readonly url: string) {
        super();
        (window as unknown as { wsAttempts: number }).wsAttempts = ((window as unknown as { wsAttempts?: number }).wsAttempts ?? 0) + 1;
        if (mode === 'fail') {
          setTimeout(() => {
            this.readyState = 3;
            this.onclose?.(new CloseEvent('close', { code: 1006, reason: '' }));
          }, 20);
        }
      }
      send(): void {
        throw new Error('not open');
      }
      close(): void {
        this.readyState = 3;
      }
    }
    (window as unknown as { WebSocket: unknown }).WebSocket = Blocked;
  }, how);
}

const connectionOf = (page: Page) =>
  page.evaluate(() => {
    const c = document.querySelector('barrage-overlay')!.activeConnection!;
    return { state: c.state, transport: c.transport, opens: c.opens };
  });

describe('sse fallback - the widget when WebSocket cannot open', () => {
  let server: TestServer;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let bob: TestClient;

  beforeAll(async () => {
    buildWidget();
    server = await startTestServer({ BARRAGE_BATCH_MS: '10' });
    ({ browser, close: closeBrowser } = await launchBrowser());
    bob = await TestClient.connect(server.wsUrl('demo', await server.token({ room: 'demo', user: 'bob', name: 'Bob' })));
  });
  afterAll(async () => {
    bob?.close();
    await closeBrowser?.();
    await server?.stop();
  });

  for (const how of ['fail', 'hang'] as const) {
    it(`sse fallback - WebSocket that ${how === 'fail' ? 'fails at once' : 'never answers'}: falls back to SSE, receives and sends`, async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await blockWebSocket(page, how);
      await page.goto(server.url + '/');
      await page.waitForFunction(() => document.querySelector('barrage-overlay')?.activeConnection?.state === 'open', undefined, {
        timeout: 15_000,
      });
      expect(await connectionOf(page)).toMatchObject({ state: 'open', transport: 'sse' });
      expect(await page.evaluate(() => (window as unknown as { wsAttempts: number }).wsAttempts)).toBeGreaterThanOrEqual(1);
      bob.danmaku(`over SSE (${how})`, { color: 0xffffff });
      await waitForTexts(page, [`over SSE (${how})`]);
      // Sending goes by POST with the page's token: Bob sees it.
      await page.waitForFunction(() =>
        document.querySelector('barrage-chat')?.shadowRoot?.querySelector('input[name=text]:not([disabled])'),
      );
      await page.fill('barrage-chat >> input[name=text]', `from the SSE page (${how})`);
      await page.click('barrage-chat >> button[type=submit]');
      await bob.until(() => bob.texts().includes(`from the SSE page (${how})`), 5_000, 'the SSE page danmaku');
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('sse fallback - behind an intermediary that holds whole responses, the widget polls and still delivers', async () => {
    const proxy = await bufferingProxy(server.port);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      await blockWebSocket(page, 'fail');
      await page.goto(proxy.url + '/');
      // The first stream shows nothing (held by the proxy); after the quiet time the widget polls.
      await page.waitForFunction(() => document.querySelector('barrage-overlay')?.activeConnection?.state === 'open', undefined, {
        timeout: 30_000,
      });
      expect((await connectionOf(page)).transport).toBe('sse');
      for (let i = 0; i < 3; i++) bob.danmaku(`through the buffering proxy ${i}`, { color: 0xffffff });
      await waitForTexts(
        page,
        [0, 1, 2].map((i) => `through the buffering proxy ${i}`),
        20_000,
      );
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});

/** An HTTP proxy that forwards each response only once it has ended (a buffering intermediary); no upgrades. */
async function bufferingProxy(port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const proxy: Server = createServer((req, res) => {
    const up = request(
      { host: '127.0.0.1', port, path: req.url, method: req.method, headers: { ...req.headers, host: `127.0.0.1:${port}` } },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const headers = { ...upRes.headers };
          delete headers['transfer-encoding'];
          delete headers['content-length'];
          res.writeHead(upRes.statusCode ?? 502, headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    up.on('error', () => res.destroy());
    // The browser gave up on this response (a quiet stream it closed): drop the upstream too.
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        proxy.closeAllConnections();
        proxy.close(() => r());
      }),
  };
}
