/**
 * The attacker of the flood benchmark, forked by run.ts: a fixed number of
 * socket slots, each writing resume, WebSocket ping, app ping and (with a
 * viewer token) held-word danmaku frames as fast as its socket takes them,
 * reconnecting whenever the edge closes it or refuses the upgrade. Counts
 * what it wrote, what came back, and every close and refusal by code.
 *
 * Bounded: floods for the seconds it is told, reconnects each slot at most
 * once per `reconnectGapMs`, and exits by itself after its deadline.
 */
import { ErrorCode } from '../../proto/index.js';
import { Opcode, RawWs } from '../lib/raw-ws.js';
import type { FrameSink } from '../lib/raw-ws.js';
import { attackChunk, readErrorCode, readWelcomeSeq, serverKindByTag } from './frames.js';
import type { AttackKind, AttackRound } from './frames.js';

/** What the runner asks. */
export type AttackCommand =
  | {
      cmd: 'flood';
      port: number;
      room: string;
      /** One entry per socket slot: a viewer token, or '' for a guest. */
      tokens: string[];
      /** One `X-Forwarded-For` address per slot, or null to connect as a plain local peer. */
      forwarded: string[] | null;
      seconds: number;
      /** The word the room's filter holds. */
      heldWord: string;
      /** Events the edge retains per room: resumes ask from the oldest one still held. */
      retain: number;
      /** Which frame kinds to send. */
      mix: AttackKind[];
    }
  | { cmd: 'close' };

/** What one flood did. */
export interface AttackReport {
  type: 'report';
  seconds: number;
  connects: number;
  upgraded: number;
  /** Refused upgrades by HTTP status. */
  refusals: Record<string, number>;
  /** Connections that failed before any HTTP answer. */
  connectErrors: number;
  /** Upgraded connections that ended, by the close code the edge sent (0 = none, the connection just ended). */
  closes: Record<string, number>;
  /** Frames written to sockets (the edge may never read the tail of a closed socket's). */
  written: AttackRound & { bytes: number };
  /** What the edge sent back, by ServerFrame kind. */
  received: Record<string, { frames: number; bytes: number }>;
  /** Error frames by code name. */
  errors: Record<string, number>;
}

/** Bytes queued per socket before the loop waits for the kernel to take them. */
const highWater = 64 * 1024;
/** Rounds of attack frames per write. */
const roundsPerWrite = 32;
/** A slot reconnects at most this often (bounds handshakes and ephemeral ports). */
const reconnectGapMs = 5;
const deadlineMs = 5 * 60_000;

interface Slot {
  index: number;
  conn: RawWs | undefined;
  chunk: { bytes: Buffer; round: AttackRound } | undefined;
  lastAttempt: number;
}

let job: Extract<AttackCommand, { cmd: 'flood' }>;
let running = false;
const slots: Slot[] = [];
const upgradedConns = new WeakSet<RawWs>();
const report: AttackReport = {
  type: 'report',
  seconds: 0,
  connects: 0,
  upgraded: 0,
  refusals: {},
  connectErrors: 0,
  closes: {},
  written: { resume: 0, wsPing: 0, appPing: 0, danmaku: 0, bytes: 0 },
  received: {},
  errors: {},
};

const bump = (map: Record<string, number>, key: string): void => void (map[key] = (map[key] ?? 0) + 1);

const sink: FrameSink = {
  frame(conn, opcode, buf, start, end) {
    const kind = opcode === Opcode.Binary ? (serverKindByTag[buf[start] as number] ?? 'other') : `opcode ${opcode}`;
    const r = (report.received[kind] ??= { frames: 0, bytes: 0 });
    r.frames++;
    r.bytes += end - start;
    // Control frames (the edge's pongs) are empty: `buf[start]` would be the next frame's byte.
    if (opcode !== Opcode.Binary || end === start) return;
    const code = readErrorCode(buf, start, end);
    if (code >= 0) return bump(report.errors, ErrorCode[code] ?? String(code));
    const seq = readWelcomeSeq(buf, start, end);
    const slot = slots[conn.tag] as Slot;
    if (seq >= 0 && slot.conn === conn) {
      const token = job.tokens[slot.index] ?? '';
      slot.chunk = attackChunk(
        job.room,
        Math.max(0, seq - job.retain + 100),
        token === '' ? undefined : job.heldWord,
        roundsPerWrite,
        job.mix,
      );
    }
  },
  closed(conn, err) {
    const slot = slots[conn.tag] as Slot;
    if (slot.conn !== conn) return;
    slot.conn = undefined;
    slot.chunk = undefined;
    if (!running) return;
    const refused = err !== undefined && /^upgrade refused: HTTP\/1\.1 (\d+)/.exec(err.message);
    if (refused) bump(report.refusals, refused[1] as string);
    else if (!upgradedConns.has(conn)) report.connectErrors++;
    else bump(report.closes, String(conn.closeCode));
    setTimeout(() => open(slot), Math.max(0, slot.lastAttempt + reconnectGapMs - Date.now()));
  },
};

function open(slot: Slot): void {
  if (!running) return;
  slot.lastAttempt = Date.now();
  report.connects++;
  const token = job.tokens[slot.index] ?? '';
  const forwarded = job.forwarded?.[slot.index];
  const conn = new RawWs({
    host: '127.0.0.1',
    port: job.port,
    path: `/ws?room=${job.room}${token === '' ? '' : `&token=${token}`}`,
    sink,
    tag: slot.index,
    ...(forwarded === undefined ? {} : { headers: [`X-Forwarded-For: ${forwarded}`] }),
  });
  slot.conn = conn;
  conn.opened.then(
    () => {
      upgradedConns.add(conn);
      report.upgraded++;
    },
    () => undefined,
  );
}

/** Writes to every socket that has room; yields to I/O between passes, and sleeps a little when none had room. */
function pump(): void {
  if (!running) return;
  let wrote = false;
  for (const slot of slots) {
    const { conn, chunk } = slot;
    if (!conn || !chunk || !conn.open || conn.buffered >= highWater) continue;
    conn.sendRaw(chunk.bytes);
    wrote = true;
    const w = report.written;
    w.resume += chunk.round.resume * roundsPerWrite;
    w.wsPing += chunk.round.wsPing * roundsPerWrite;
    w.appPing += chunk.round.appPing * roundsPerWrite;
    w.danmaku += chunk.round.danmaku * roundsPerWrite;
    w.bytes += chunk.bytes.length;
  }
  if (wrote) setImmediate(pump);
  else setTimeout(pump, 1);
}

function flood(m: Extract<AttackCommand, { cmd: 'flood' }>): void {
  job = m;
  running = true;
  const t0 = performance.now();
  for (let i = 0; i < m.tokens.length; i++) {
    const slot: Slot = { index: i, conn: undefined, chunk: undefined, lastAttempt: 0 };
    slots.push(slot);
    open(slot);
  }
  pump();
  setTimeout(() => {
    running = false;
    report.seconds = (performance.now() - t0) / 1000;
    for (const slot of slots) slot.conn?.close();
    setTimeout(() => process.send?.(report), 200);
  }, m.seconds * 1000);
}

process.on('message', (raw) => {
  const m = raw as AttackCommand;
  if (m.cmd === 'flood') flood(m);
  else process.exit(0);
});

process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), deadlineMs).unref();
