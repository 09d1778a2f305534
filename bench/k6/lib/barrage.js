// What every Barrage k6 script shares: reading the environment, minting
// viewer tokens, one WebSocket connection speaking the wire contract (with the
// generated protobuf code in ./barrage-proto.js), following a room's sequence
// numbers, and a summary that ends in PASS or FAIL.
/* global open */
import { WebSocket } from 'k6/websockets';
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';
import { setTimeout, setInterval, clearTimeout, clearInterval } from 'k6/timers';
import { v1, ErrorCode, EventClass, EventKindClass, ServerFrameField, WireType, tagOf } from './barrage-proto.js';
import { SeqTracker, maxSeqOfBatch } from './seq.js';

export { v1, ErrorCode, SeqTracker, maxSeqOfBatch };

// ------------------------------------------------------------------ environment

/** A string from the environment, or `fallback`. */
export function env(name, fallback) {
  const value = __ENV[name];
  return value === undefined || value === '' ? fallback : value;
}

/** A number from the environment; a bad value stops the test at once. */
export function num(name, fallback) {
  const raw = env(name, undefined);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got "${raw}"`);
  return value;
}

/** A comma-separated list from the environment. */
export function list(name, fallback) {
  const raw = env(name, undefined);
  if (raw === undefined) return fallback;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Seconds from a k6-style duration (`30s`, `2m`, `1h`, or a bare number of seconds). */
export function seconds(name, fallback) {
  const raw = env(name, fallback);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(raw).trim());
  if (!m) throw new Error(`${name} must be a duration such as 30s or 2m, got "${raw}"`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] || 's'];
  return Number(m[1]) * factor;
}

/**
 * Where to connect. `BARRAGE_URL` is one base URL (a load balancer) or a
 * comma-separated list (edges addressed directly; connection i goes to
 * entry i modulo the list).
 */
export const targets = list('BARRAGE_URL', ['http://127.0.0.1:8080']).map((u) => u.replace(/\/+$/, ''));

/** Rooms: `ROOMS` (a list), or `ROOM` (default `k6`) with `ROOM_COUNT` rooms named ROOM-0 .. ROOM-(n-1). */
export function rooms() {
  const named = list('ROOMS', undefined);
  if (named) return named;
  const base = env('ROOM', 'k6');
  const count = num('ROOM_COUNT', 1);
  if (count <= 1) return [base];
  return Array.from({ length: count }, (_, i) => `${base}-${i}`);
}

/** A unique-enough id for this run, so user ids and client_msg_ids of two runs never meet. */
export const runId = env('RUN_ID', Date.now().toString(36));

// ------------------------------------------------------------------ tokens

// `TOKENS` (comma-separated) or `TOKENS_FILE` (one per line, read at init)
// replace minting; otherwise tokens are minted with `BARRAGE_SECRET`.
const tokenList = (() => {
  const file = env('TOKENS_FILE', undefined);
  if (file) {
    return open(file)
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  return list('TOKENS', []);
})();
const secret = env('BARRAGE_SECRET', '');
const tokenTtl = num('TOKEN_TTL', 3600);

function b64json(value) {
  return encoding.b64encode(JSON.stringify(value), 'rawurl');
}

/** Signs an HS256 viewer token the way a site's backend does (domain/auth.ts). */
export function mintToken(key, claims) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64json({ alg: 'HS256', typ: 'JWT' });
  const body = b64json({ iat: now, exp: now + tokenTtl, ...claims });
  return `${head}.${body}.${crypto.hmac('sha256', key, `${head}.${body}`, 'base64rawurl')}`;
}

/**
 * The token for connection number `n` in `room`: the n-th of the given list,
 * a freshly minted one, or '' (a guest, which only rooms in
 * BARRAGE_GUEST_ROOMS admit, read only).
 */
export function tokenFor(n, room, role = 'viewer', user = `k6-${runId}-${n}`) {
  if (tokenList.length > 0) return tokenList[n % tokenList.length];
  if (!secret) return '';
  return mintToken(secret, { sub: user, name: user, room, role });
}

/** Whether this run can send (guests cannot). */
export function canSend() {
  return tokenList.length > 0 || secret !== '';
}

// ------------------------------------------------------------------ connection

/** The WebSocket URL of `room` on target `n`. */
export function wsUrl(n, room, token, since) {
  const base = targets[n % targets.length].replace(/^http/, 'ws');
  let url = `${base}/ws?room=${encodeURIComponent(room)}`;
  if (token) url += `&token=${encodeURIComponent(token)}`;
  if (since !== undefined && since >= 0) url += `&since=${since}`;
  return url;
}

/** First byte of an encoded `ServerFrame` holding a `batch` (length-delimited; its tag fits in one byte). */
export const batchTag = tagOf(ServerFrameField.batch, WireType.Len);

/** Whether an event took a seq of its own (so a missing one is a gap): counters carry the room's latest seq instead. */
export function isSequenced(event) {
  return EventKindClass[event.kind] !== EventClass.Counter;
}

/**
 * One connection to a room. Callbacks (all optional): onWelcome(welcome),
 * onEvents(events, batch) for every batch (history included; check
 * `batch.history`), onError(error), onClose(code, reason), onFail(message)
 * when the socket failed before the welcome, onFrame(data) with every frame's
 * ArrayBuffer.
 *
 * With `decode` false the connection decodes its welcome and any frame that
 * is not a Batch (errors, pongs) but only counts batches (onFrame): k6's
 * JavaScript runtime takes a few hundred microseconds to decode one Batch, so
 * at scale only a sample of viewers (probes) can afford to decode them all.
 */
export class Connection {
  constructor(n, room, token, handlers = {}, since = -1, decode = true) {
    this.n = n;
    this.decode = decode;
    this.room = room;
    this.handlers = handlers;
    this.welcome = undefined;
    this.closed = false;
    this.closing = false;
    this.openedAt = Date.now();
    this.ws = new WebSocket(wsUrl(n, room, token, since));
    this.ws.binaryType = 'arraybuffer';
    this.ws.addEventListener('message', (e) => this.onMessage(e.data));
    this.ws.addEventListener('error', (e) => {
      if (!this.welcome && !this.closed && handlers.onFail) handlers.onFail(String(e.error || 'websocket error'));
    });
    this.ws.addEventListener('close', (e) => {
      const wasWelcomed = this.welcome !== undefined;
      this.closed = true;
      if (!wasWelcomed && handlers.onFail) {
        handlers.onFail(
          this.closing
            ? `no welcome ${Date.now() - this.openedAt} ms after connecting, when the script closed it`
            : `closed ${e.code} before the welcome`,
        );
      }
      if (handlers.onClose) handlers.onClose(e.code, e.reason);
    });
  }

  onMessage(data) {
    if (typeof data === 'string') return; // the server only sends binary frames
    if (this.handlers.onFrame) this.handlers.onFrame(data);
    // The tag byte of every Batch frame: a batch is only counted, unless this viewer decodes.
    if (!this.decode && this.welcome && new Uint8Array(data, 0, 1)[0] === batchTag) return;
    const frame = v1.ServerFrame.decode(new Uint8Array(data));
    switch (frame.kind) {
      case 'welcome':
        this.welcome = frame.welcome;
        if (this.handlers.onWelcome) this.handlers.onWelcome(frame.welcome);
        return;
      case 'batch':
        if (this.handlers.onEvents) this.handlers.onEvents(frame.batch.events, frame.batch);
        return;
      case 'error':
        if (this.handlers.onError) this.handlers.onError(frame.error);
        return;
      case 'playAnswer':
        if (this.handlers.onPlayAnswer) this.handlers.onPlayAnswer(frame.playAnswer);
        return;
      default:
    }
  }

  /** Sends one danmaku; false when the socket is not open. */
  sendDanmaku(text, clientMsgId) {
    if (this.closed || this.ws.readyState !== 1) return false;
    const bytes = v1.ClientFrame.encode({ sendDanmaku: { text, clientMsgId } }).finish();
    // k6 sends an ArrayBuffer as a binary frame; copy out exactly this message's bytes.
    this.ws.send(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return true;
  }

  /** Sends an encoded ClientFrame (an ArrayBuffer); false when the socket is not open. */
  send(bytes) {
    if (this.closed || this.ws.readyState !== 1) return false;
    this.ws.send(bytes);
    return true;
  }

  close() {
    this.closing = true;
    if (!this.closed) this.ws.close();
  }
}

/**
 * Sends a danmaku from `conn` every `intervalMs` until the time `until`, then
 * closes it. The first send waits `phaseMs`: senders of one room spread their
 * phases over the interval so the room gets a steady rate, not bursts.
 * `onSent(count)` is called for each frame sent. Returns a function that stops it.
 */
export function sendEvery(conn, name, intervalMs, phaseMs, until, onSent) {
  let count = 0;
  let timer;
  const tick = () => {
    if (Date.now() >= until) {
      clearInterval(timer);
      conn.close();
      return;
    }
    if (conn.sendDanmaku(`${name} ${count}`, stampId(name, count))) onSent(count++);
  };
  const first = setTimeout(() => {
    tick();
    timer = setInterval(tick, intervalMs);
  }, phaseMs);
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}

/** A client_msg_id that carries the sender, a counter and the send time (for end-to-end latency). */
export function stampId(sender, count) {
  return `${sender}.${count}.${Date.now()}`;
}

/** The send time in a `stampId`, or 0 for an id this run did not make. */
export function stampTime(clientMsgId) {
  const dot = clientMsgId.lastIndexOf('.');
  if (dot < 0) return 0;
  const t = Number(clientMsgId.slice(dot + 1));
  return Number.isFinite(t) ? t : 0;
}

/** The sender part of a `stampId`. */
export function stampSender(clientMsgId) {
  const first = clientMsgId.indexOf('.');
  const second = clientMsgId.indexOf('.', first + 1);
  return first < 0 || second < 0 ? '' : clientMsgId.slice(0, first);
}

// ------------------------------------------------------------------ summary

function fmt(value) {
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(Math.abs(value) >= 100 ? 0 : 2);
}

function metricLine(name, metric) {
  const v = metric.values;
  if (metric.type === 'trend') {
    return `${name}: avg ${fmt(v.avg)}, p(50) ${fmt(v.med)}, p(95) ${fmt(v['p(95)'])}, p(99) ${fmt(v['p(99)'])}, max ${fmt(v.max)}`;
  }
  if (metric.type === 'rate') return `${name}: ${fmt(v.rate * 100)} % (${v.passes} of ${v.passes + v.fails})`;
  if (metric.type === 'counter') return `${name}: ${fmt(v.count)} (${fmt(v.rate)}/s)`;
  return `${name}: ${fmt(v.value)} (min ${fmt(v.min)}, max ${fmt(v.max)})`;
}

/**
 * A handleSummary for every script: the `barrage_*` metrics, each threshold
 * with ok or CROSSED, and a last line `RESULT: PASS` or `RESULT: FAIL`. With
 * `SUMMARY_JSON=path` the full k6 summary is also written there as JSON.
 * `notes` are extra lines a script wants shown (e.g. a consistency check).
 */
export function summarize(title, data, notes = []) {
  const lines = [`${title}`, ''];
  const failed = [];
  const names = Object.keys(data.metrics).sort();
  for (const name of names) {
    const metric = data.metrics[name];
    const interesting = name.startsWith('barrage_') || metric.thresholds;
    if (!interesting) continue;
    lines.push('  ' + metricLine(name, metric));
    for (const [expr, t] of Object.entries(metric.thresholds || {})) {
      lines.push(`      threshold ${expr}: ${t.ok ? 'ok' : 'CROSSED'}`);
      if (!t.ok) failed.push(`${name} ${expr}`);
    }
  }
  for (const note of notes) lines.push('  ' + note);
  lines.push('');
  lines.push(failed.length === 0 ? 'RESULT: PASS' : `RESULT: FAIL (${failed.join('; ')})`);
  const out = { stdout: lines.join('\n') + '\n' };
  const json = env('SUMMARY_JSON', undefined);
  if (json) out[json] = JSON.stringify({ ...data, barrage: { pass: failed.length === 0, failed, notes } }, null, 2);
  return out;
}

/**
 * Cumulative bucket counts of a Prometheus histogram in `text`, by upper
 * bound (`+Inf` as Infinity), for series whose labels contain `match`
 * (e.g. `hop="total"`); several texts (edges) may be added with `into`.
 */
export function histogramBuckets(text, name, match, into = new Map()) {
  const prefix = name + '_bucket{';
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix) || !line.includes(match)) continue;
    const le = /le="([^"]+)"/.exec(line);
    if (!le) continue;
    const bound = le[1] === '+Inf' ? Infinity : Number(le[1]);
    into.set(bound, (into.get(bound) || 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return into;
}

/**
 * The `q` quantile of the difference of two bucket maps (what was observed
 * between two scrapes), interpolated inside its bucket as PromQL's
 * histogram_quantile does; NaN when nothing was observed.
 */
export function histogramQuantile(after, before, q) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const count = (le) => (after.get(le) || 0) - (before.get(le) || 0);
  const total = count(Infinity);
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const c = count(le);
    if (c >= rank) return le === Infinity ? prevBound : prevBound + (le - prevBound) * ((rank - prevCount) / Math.max(c - prevCount, 1e-9));
    prevBound = le;
    prevCount = c;
  }
  return prevBound;
}

/** Reads one counter's total from Prometheus text (labels as `name{a="b"}`); 0 when absent. */
export function promValue(text, series) {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return 0;
}
