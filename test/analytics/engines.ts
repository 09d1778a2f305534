/**
 * The two analytics stores every engine-independent test runs against: a
 * real ClickHouse server (Debian's 18.16 here) started on a free port, and
 * chDB in this process on a directory of its own. Each engine opens one
 * store and cleans up after itself when closed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalyticsStore } from '../../core/analytics/analytics-store.js';
import { ChdbStore } from '../../core/analytics/store-chdb.js';
import { ClickHouseStore } from '../../core/analytics/store-clickhouse.js';
import { startClickHouse } from './clickhouse-server.js';
import type { TestClickHouse } from './clickhouse-server.js';

/** One analytics engine a suite can open and close. */
export interface Engine {
  name: string;
  open(): Promise<AnalyticsStore>;
  close(): Promise<void>;
}

/** Both engines; `label` names the chDB directory (one suite's data never meets another's). */
export function analyticsEngines(label: string): Engine[] {
  let server: TestClickHouse | undefined;
  let chdbDir: string | undefined;
  return [
    {
      name: 'clickhouse server 18.16',
      async open() {
        server = await startClickHouse();
        return new ClickHouseStore({ url: server.url });
      },
      async close() {
        await server?.destroy();
      },
    },
    {
      name: 'chdb',
      async open() {
        // Made when opened, not at import: a run that skips the suite leaves no directory behind.
        chdbDir = mkdtempSync(join(tmpdir(), `barrage-chdb-${label}-`));
        return new ChdbStore({ path: chdbDir });
      },
      async close() {
        if (chdbDir) rmSync(chdbDir, { recursive: true, force: true });
      },
    },
  ];
}
