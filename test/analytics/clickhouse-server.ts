/**
 * Starts a real ClickHouse server (Debian's 18.16 `clickhouse-server`, or a
 * newer `clickhouse server`) for a test: free ports, its own temporary data
 * directory and config file. `stop` kills it; `start` again reuses the data.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../bench/lib/ports.js';

export { freePort };

/** A ClickHouse server owned by one test file. */
export interface TestClickHouse {
  url: string;
  httpPort: number;
  dir: string;
  start(): Promise<void>;
  /** SIGKILL: the test is about outages, not clean shutdowns. */
  stop(): Promise<void>;
  /** Stops and deletes the data directory. */
  destroy(): Promise<void>;
}

function command(): string[] {
  if (process.env['BARRAGE_CLICKHOUSE_BIN']) return [process.env['BARRAGE_CLICKHOUSE_BIN']];
  if (spawnSync('sh', ['-c', 'command -v clickhouse-server']).status === 0) return ['clickhouse-server'];
  if (existsSync('/usr/bin/clickhouse')) return ['/usr/bin/clickhouse', 'server'];
  throw new Error('no ClickHouse server binary: run scripts/test.sh (ensure_clickhouse) or apt-get install clickhouse-server');
}

/** True when a ClickHouse server binary is installed. */
export function clickhouseInstalled(): boolean {
  try {
    command();
    return true;
  } catch {
    return false;
  }
}

/** Writes a config for free ports under a temp dir and starts the server. */
export async function startClickHouse(): Promise<TestClickHouse> {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-ch-'));
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(
    join(dir, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>134217728</mark_cache_size>
  <uncompressed_cache_size>134217728</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <timezone>UTC</timezone>
</yandex>
`,
  );
  writeFileSync(
    join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
  );
  const url = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const [bin, ...args] = command();
    const c = spawn(bin as string, [...args, `--config-file=${join(dir, 'config.xml')}`], { cwd: dir, stdio: 'ignore' });
    child = c;
    // Never leave a server behind when the test process ends without afterAll.
    const reap = (): void => void c.kill('SIGKILL');
    process.once('exit', reap);
    c.once('exit', () => process.off('exit', reap));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`clickhouse-server exited with ${child.exitCode}; see ${dir}/log`);
      try {
        const res = await fetch(`${url}/ping`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer on ${url} within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url,
    httpPort,
    dir,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
