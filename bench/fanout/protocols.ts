/**
 * What the harness says to each server and how it counts what comes back.
 *
 * Every message carries its send time as 16 ASCII digits (µs since the epoch):
 * in Barrage's `client_msg_id` (echoed in every delivered Danmaku), and at the
 * start of the payload for the peers. Counting a frame walks its bytes without
 * decoding; the send time is parsed only on sampled connections.
 */
import { Histogram } from '../lib/histogram.js';
import { Opcode, encodeClientFrame } from '../lib/raw-ws.js';
import { BatchField, ClientFrameField, DanmakuField, EventField, SendDanmakuField, ServerFrameField } from '../../proto/gen/tables.js';
import { WireType, tagOf } from '../../proto/wire.js';

// Tags of the Barrage fields this harness writes and reads (each fits in one byte).
const tagSendDanmaku = tagOf(ClientFrameField.sendDanmaku, WireType.Len);
const tagSendText = tagOf(SendDanmakuField.text, WireType.Len);
const tagSendClientMsgId = tagOf(SendDanmakuField.clientMsgId, WireType.Len);
const tagServerBatch = tagOf(ServerFrameField.batch, WireType.Len);
const tagBatchEvent = tagOf(BatchField.events, WireType.Len);
const tagEventTsMs = tagOf(EventField.tsMs, WireType.Varint);
const tagEventDanmaku = tagOf(EventField.danmaku, WireType.Len);
const tagDanmakuClientMsgId = tagOf(DanmakuField.clientMsgId, WireType.Len);

/** The servers the harness can drive. */
export const ServerKind = {
  Barrage: 'barrage',
  Uws: 'uws',
  /** Bare uWS doing Barrage's batching: one frame of concatenated messages per 25 ms window. */
  UwsBatched: 'uws-batched',
  Ws: 'ws',
  SocketIo: 'socketio',
} as const;
export type ServerKind = (typeof ServerKind)[keyof typeof ServerKind];

/** Display names for tables. */
export const serverLabel: Record<ServerKind, string> = {
  barrage: 'Barrage',
  uws: 'bare uWebSockets.js',
  'uws-batched': 'bare uWebSockets.js, 25 ms batches',
  ws: 'ws',
  socketio: 'Socket.IO',
};

/** The danmaku text every message carries. */
export const danmakuText = 'bench danmaku: 233333 good stream';
/**
 * Peer payload bytes after the 16-digit stamp. Chosen so a peer's message is
 * as large on the wire as a Barrage Event carrying the same danmaku (seq,
 * room, ts_ms, id, user, text, client_msg_id): the same bytes to move.
 */
export const peerPadding = 'x'.repeat(72);
/** Bytes of one peer message (stamp + padding). */
export const peerMessageBytes = 16 + peerPadding.length;

/** Wall clock in microseconds, sub-millisecond and comparable across processes. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Reads 16 ASCII digits at `pos` as a number. */
function readStamp(buf: Buffer, pos: number): number {
  let v = 0;
  for (let i = pos; i < pos + 16; i++) v = v * 10 + ((buf[i] as number) - 48);
  return v;
}

function stampString(us: number): string {
  return String(us).padStart(16, '0');
}

/** Request path of a viewer. */
export function viewerPath(kind: ServerKind, room: string): string {
  switch (kind) {
    case 'barrage':
      return `/ws?room=${room}`;
    case 'socketio':
      return '/socket.io/?EIO=4&transport=websocket';
    default:
      return '/viewer';
  }
}

/** Request path of the sender (Barrage needs a token to send). */
export function senderPath(kind: ServerKind, room: string, token: string): string {
  switch (kind) {
    case 'barrage':
      return `/ws?room=${room}&token=${token}`;
    case 'socketio':
      return '/socket.io/?EIO=4&transport=websocket&sender=1';
    default:
      return '/sender';
  }
}

const textBytes = Buffer.from(danmakuText);

/** One framed client message stamped with `us`, ready to write. */
export function encodeMessage(kind: ServerKind, us: number): Buffer {
  const stamp = stampString(us);
  switch (kind) {
    case 'barrage': {
      // ClientFrame{ send_danmaku: SendDanmaku{ text, client_msg_id } }
      const inner = 2 + textBytes.length + 2 + 16;
      const body = Buffer.allocUnsafe(2 + inner);
      body[0] = tagSendDanmaku;
      body[1] = inner;
      body[2] = tagSendText;
      body[3] = textBytes.length;
      textBytes.copy(body, 4);
      let p = 4 + textBytes.length;
      body[p++] = tagSendClientMsgId;
      body[p++] = 16;
      body.write(stamp, p, 'latin1');
      return encodeClientFrame(body);
    }
    case 'socketio':
      return encodeClientFrame(`42["d","${stamp}${peerPadding}"]`, Opcode.Text);
    default:
      return encodeClientFrame(Buffer.from(stamp + peerPadding, 'latin1'));
  }
}

/** Latency histograms a sampled connection records into. */
export interface Samples {
  /** Receive time minus the sender's stamp. */
  e2e: Histogram;
  /** Receive time minus the server's ts_ms (Barrage only; ms resolution). */
  server: Histogram;
}

/** Where the last `varint` call stopped (a module variable: no tuple per call on the hot path). */
let after = 0;

function varint(buf: Buffer, pos: number): number {
  let n = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++] as number;
    n += (b & 0x7f) * mul;
    if (b < 0x80) {
      after = pos;
      return n;
    }
    mul *= 128;
  }
}

/** Skips one protobuf field value of wire type `wt` at `pos`. */
function skipField(buf: Buffer, pos: number, wt: number): number {
  if (wt === 0) {
    while ((buf[pos++] as number) & 0x80);
    return pos;
  }
  if (wt === 2) {
    const len = varint(buf, pos);
    return after + len;
  }
  if (wt === 1) return pos + 8;
  return pos + 4;
}

/** Records latency of one Danmaku event [pos, end) given ts_ms. */
function sampleDanmaku(buf: Buffer, pos: number, end: number, tsMs: number, samples: Samples, recvUs: number): void {
  while (pos < end) {
    const tag = buf[pos++] as number;
    if (tag === tagDanmakuClientMsgId) {
      const len = varint(buf, pos);
      if (len === 16) samples.e2e.record((recvUs - readStamp(buf, after)) / 1000);
      break;
    }
    pos = skipField(buf, pos, tag & 7);
  }
  if (tsMs > 0) samples.server.record(recvUs / 1000 - tsMs);
}

/**
 * Danmaku events in a Barrage frame (other events such as online counts are
 * not counted); 0 for frames that are not batches.
 */
export function countBarrage(buf: Buffer, start: number, end: number, samples: Samples | null): number {
  if (buf[start] !== tagServerBatch) return 0;
  const recvUs = samples ? nowUs() : 0;
  let len = varint(buf, start + 1);
  let pos = after;
  const batchEnd = Math.min(pos + len, end);
  let count = 0;
  while (pos < batchEnd) {
    const tag = buf[pos++] as number;
    if (tag !== tagBatchEvent) {
      pos = skipField(buf, pos, tag & 7);
      continue;
    }
    len = varint(buf, pos);
    pos = after;
    const eventEnd = pos + len;
    let tsMs = 0;
    while (pos < eventEnd) {
      const t = buf[pos++] as number;
      if (t === tagEventDanmaku) {
        count++;
        if (samples) {
          const dl = varint(buf, pos);
          sampleDanmaku(buf, after, after + dl, tsMs, samples, recvUs);
        }
        break;
      }
      if (t === tagEventTsMs && samples) {
        tsMs = varint(buf, pos);
        pos = after;
        continue;
      }
      pos = skipField(buf, pos, t & 7);
    }
    pos = eventEnd;
  }
  return count;
}

/** A peer's binary message: one per frame, stamp first. */
export function countBinary(buf: Buffer, start: number, end: number, samples: Samples | null): number {
  if (end - start < 16) return 0;
  if (samples) samples.e2e.record((nowUs() - readStamp(buf, start)) / 1000);
  return 1;
}

/** A batched peer frame: fixed-size messages back to back. */
export function countFixed(buf: Buffer, start: number, end: number, samples: Samples | null): number {
  const n = Math.floor((end - start) / peerMessageBytes);
  if (samples) {
    const recv = nowUs();
    for (let i = 0; i < n; i++) samples.e2e.record((recv - readStamp(buf, start + i * peerMessageBytes)) / 1000);
  }
  return n;
}

/** A Socket.IO event packet `42["d","<stamp>..."]` (stamp at offset 8): one per frame. */
export function countSocketIo(buf: Buffer, start: number, end: number, samples: Samples | null): number {
  if (end - start < 24 || buf[start] !== 0x34 || buf[start + 1] !== 0x32) return 0;
  if (samples) samples.e2e.record((nowUs() - readStamp(buf, start + 8)) / 1000);
  return 1;
}

/** The counting function of a server kind. */
export function counterFor(kind: ServerKind): (buf: Buffer, start: number, end: number, samples: Samples | null) => number {
  if (kind === 'barrage') return countBarrage;
  if (kind === 'socketio') return countSocketIo;
  return kind === 'uws-batched' ? countFixed : countBinary;
}
