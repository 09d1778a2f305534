import type { LaunchOptions } from 'playwright-core';

/**
 * How tests and benchmarks start Debian's Chromium (never a downloaded
 * browser): headless, no sandbox (root here), and without the background
 * networking a closed network answers with refused connections.
 */
export function chromiumLaunchOptions(): LaunchOptions {
  return {
    executablePath: process.env['BARRAGE_CHROMIUM'] || '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  };
}
