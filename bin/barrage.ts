#!/usr/bin/env node
/**
 * The `barrage` command.
 *
 *   barrage start [--port N]                      edge + core in one process
 *   barrage edge --nats URLS [--port N]           an edge joined to NATS
 *   barrage core --nats URLS [--port N]           core (JetStream sequencer) joined to NATS; N serves /metrics
 *   barrage token --room R --user U --name N --role viewer [--ttl S]
 *   barrage health                                 exit 0 when this host's edge or core answers /healthz (the image's HEALTHCHECK)
 */
import { parseArgs } from 'node:util';
import { mintToken, Roles } from '../domain/auth.js';
import type { RoleName } from '../domain/auth.js';
import { loadConfig, loadPorts } from '../domain/config.js';
import type { Env, LoadOptions } from '../domain/config.js';
import { ConfigError } from '../domain/errors.js';
import { createLogger, flushLogs } from '../domain/logger.js';
import type { Logger } from '../domain/logger.js';
import { startShutdownWatchdog } from './shutdown-watchdog.js';
import { isValidRoomId } from '../domain/subjects.js';
import { startCoreProcess, startEdgeProcess, startSingleProcess } from './app.js';
import type { Role } from './app.js';

const usage = `usage:
  barrage start [--port N]
  barrage edge --nats nats://host:4222[,nats://...] [--port N]
  barrage core --nats nats://host:4222[,nats://...] [--port N]   (/healthz, /readyz, /metrics; default 9470)
  barrage token --room R --user U [--name N] [--role guest|viewer|moderator|host|admin] [--ttl SECONDS]
  barrage health   (exit 0 when the edge on PORT or the core on BARRAGE_CORE_HTTP_PORT answers /healthz on 127.0.0.1)`;

/**
 * The configuration of this run: the process environment with the command's
 * flags on top (`--port`, `--nats`), read and checked in full before anything
 * starts; a bad value is a `ConfigError` (exit code 2).
 */
function configOf(flags: Record<string, string | undefined>, options: LoadOptions) {
  const env: Record<string, string | undefined> = { ...(process.env as Env) };
  for (const [name, value] of Object.entries(flags)) if (value !== undefined) env[name] = value;
  return loadConfig(env, options);
}

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' } } });
  const config = configOf({ PORT: values.port }, { createSecret: true });
  const logger = createLogger(config.process.logLevel, 'barrage', { bufferBytes: config.process.logBufferBytes });
  if (config.auth.secretSource === 'file') {
    logger.warn(
      { secretFile: config.auth.secretFile },
      'using a development token secret kept in a local file; set BARRAGE_SECRET (32+ bytes) to the secret your site signs tokens with',
    );
  }
  const app = await startSingleProcess(config, logger, { seedDemo: true });
  const url = `http://localhost:${app.port}`;
  logger.info({ url, ws: `ws://localhost:${app.port}/ws?room=demo` }, `Barrage is up: open ${url}/ for the demo`);
  stopOnSignals(app, logger, config.process.shutdownDeadlineMs);
}

/** Queued log lines get this long to reach stdout after a clean drain (an unread stdout must not hold the exit). */
const exitLogFlushMs = 1000;

/**
 * Stops `role` on SIGTERM or SIGINT, once, and exits; the process is gone
 * `deadlineMs` after the signal whatever happens:
 * - the drain finishes: queued log lines get up to a second, then exit 0;
 * - the drain fails, or still runs when a tenth of the deadline (at most 1 s) is left: exit 1;
 * - the main thread is stuck and none of the above can run: the watchdog
 *   thread kills the process with SIGKILL at the deadline (exit status 137).
 */
function stopOnSignals(role: Role, logger: Logger, deadlineMs: number): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    try {
      startShutdownWatchdog(deadlineMs, (err) => logger.error({ err }, 'shutdown watchdog failed'));
    } catch (err) {
      logger.error({ err }, 'shutdown watchdog did not start; only the main-thread deadline holds');
    }
    logger.info({ signal, deadlineMs }, 'shutting down');
    // A drain that hangs (a dependency gone mid-close) must not leave the process behind.
    const exitBy = deadlineMs - Math.min(1000, Math.floor(deadlineMs / 10));
    setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown did not finish before its deadline; exiting');
      process.exit(1);
    }, exitBy).unref();
    const exit = (code: number) => {
      const left = exitBy - (Date.now() - started);
      void flushLogs(Math.max(0, Math.min(exitLogFlushMs, left))).then(() => process.exit(code));
    };
    role.stop().then(
      () => exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** `barrage edge` and `barrage core`: one role of a NATS deployment. */
async function role(which: 'edge' | 'core', args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { port: { type: 'string' }, nats: { type: 'string' } } });
  // An edge's port is its WebSocket and HTTP port; core's is its health and metrics port.
  // Processes of one deployment must share the site's secret; no development file is made here.
  const config = configOf(
    { [which === 'edge' ? 'PORT' : 'BARRAGE_CORE_HTTP_PORT']: values.port, BARRAGE_NATS_URL: values.nats },
    { createSecret: false, requireNats: true },
  );
  const logger = createLogger(config.process.logLevel, 'barrage', { bufferBytes: config.process.logBufferBytes });
  if (which === 'edge') {
    const edge = await startEdgeProcess(config, logger);
    logger.info({ port: edge.port, edgeId: config.process.id }, 'Barrage edge is up');
    stopOnSignals(edge, logger, config.process.shutdownDeadlineMs);
  } else {
    const core = await startCoreProcess(config, logger);
    logger.info({ port: core.httpPort, replicas: config.nats.replicas }, 'Barrage core is up');
    stopOnSignals(core, logger, config.process.shutdownDeadlineMs);
  }
}

async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      room: { type: 'string' },
      user: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', default: 'viewer' },
      ttl: { type: 'string', default: '86400' },
      member: { type: 'boolean', default: false },
      badges: { type: 'string' },
      medal: { type: 'string' },
    },
  });
  if (!values.room || (!isValidRoomId(values.room) && values.room !== '*'))
    throw new ConfigError('--room is required: 1-64 characters of A-Z a-z 0-9 _ -');
  if (!values.user) throw new ConfigError('--user is required');
  const role = values.role as RoleName;
  if (!(Roles as readonly string[]).includes(role)) throw new ConfigError(`--role must be one of ${Roles.join('|')}`);
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new ConfigError('--ttl must be a positive number of seconds');
  const badges = values.badges ? values.badges.split(',').map((b) => b.trim()) : undefined;
  // --medal "Name:12": the level after the last colon.
  const medalMatch = values.medal ? /^(.+):(\d+)$/.exec(values.medal) : null;
  if (values.medal && !medalMatch) throw new ConfigError('--medal must be <name>:<level>, e.g. "Fans:12"');
  const medal = medalMatch ? { name: medalMatch[1] as string, level: Number(medalMatch[2]) } : undefined;
  const { auth } = configOf({}, { createSecret: true });
  if (auth.secretSource === 'file')
    process.stderr.write(`barrage: signing with the development secret in ${auth.secretFile}; set BARRAGE_SECRET in production\n`);
  process.stdout.write(
    (await mintToken(auth.secret, {
      room: values.room,
      user: values.user,
      name: values.name ?? values.user,
      role,
      ttlSeconds: ttl,
      member: values.member,
      ...(badges ? { badges } : {}),
      ...(medal ? { medal } : {}),
    })) + '\n',
  );
}

/**
 * `barrage health`: the container's health check. One image runs `start`,
 * `edge` or `core`, and the check cannot see which, so it asks this host's
 * edge port (PORT) and then core's (BARRAGE_CORE_HTTP_PORT): only the
 * process's own role listens on either. Exit 0 healthy, 1 not.
 */
async function health(): Promise<void> {
  const ports = loadPorts(process.env as Env);
  const failures: string[] = [];
  for (const port of new Set([ports.edge, ports.core])) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      failures.push(`:${port} answered ${res.status}`);
    } catch (err) {
      failures.push(`:${port} ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  process.stderr.write(`barrage: unhealthy (${failures.join('; ')})\n`);
  process.exitCode = 1;
}

async function main(argv: string[]): Promise<void> {
  const [command = 'start', ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'edge':
    case 'core':
      return role(command, rest);
    case 'token':
      return token(rest);
    case 'health':
      return health();
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage + '\n');
      return;
    default:
      throw new ConfigError(`unknown command "${command}"\n${usage}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`barrage: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
