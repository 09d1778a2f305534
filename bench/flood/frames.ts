/**
 * The few ServerFrame facts the flood benchmark reads from raw bytes (which
 * kind, an error's code, a Welcome's seq) and the attack frames it writes,
 * framed once per connection so the flood loop only copies bytes.
 */
import { v1 } from '../../proto/index.js';
import { Opcode, encodeClientFrame } from '../lib/raw-ws.js';

/** ServerFrame kinds by their first byte (field tag); `held` is field 50, two bytes. */
export const serverKindByTag: Readonly<Record<number, string>> = {
  0x0a: 'welcome',
  0x12: 'batch',
  0x1a: 'error',
  0x22: 'pong',
  0x2a: 'ack',
  0x92: 'held',
};

let after = 0;
function varint(buf: Buffer, pos: number, end: number): number {
  let n = 0;
  let mul = 1;
  while (pos < end) {
    const b = buf[pos++] as number;
    n += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  after = pos;
  return n;
}

/** The code of a ServerFrame.error in `buf[start, end)`, or -1 when the frame is not an error. */
export function readErrorCode(buf: Buffer, start: number, end: number): number {
  if (buf[start] !== 0x1a) return -1;
  varint(buf, start + 1, end); // Error's length
  // Error.code is field 1 (tag 0x08); absent means 0, and it is written first when present.
  return after < end && buf[after] === 0x08 ? varint(buf, after + 1, end) : 0;
}

/** The room seq a Welcome carries, or -1 when the frame is not a Welcome. */
export function readWelcomeSeq(buf: Buffer, start: number, end: number): number {
  if (buf[start] !== 0x0a) return -1;
  return Number(v1.ServerFrame.decode(buf.subarray(start, end)).welcome?.seq ?? 0);
}

/** What one round of the attack holds, for counting what was written. */
export interface AttackRound {
  resume: number;
  wsPing: number;
  appPing: number;
  danmaku: number;
}

/**
 * `rounds` rounds of attack frames in one buffer: each a `resume` from
 * `lastSeq` (the oldest retained event, so every accepted one replays the
 * whole ring), a WebSocket ping, an app `ping`, and, when the socket has a
 * viewer token, a danmaku carrying the held word.
 */
export function attackChunk(
  room: string,
  lastSeq: number,
  heldWord: string | undefined,
  rounds: number,
): { bytes: Buffer; round: AttackRound } {
  const parts = [
    encodeClientFrame(v1.ClientFrame.encode({ resume: { room, lastSeq } }).finish()),
    encodeClientFrame(Buffer.alloc(0), Opcode.Ping),
    encodeClientFrame(v1.ClientFrame.encode({ ping: { clientTsMs: 1 } }).finish()),
  ];
  if (heldWord !== undefined) parts.push(encodeClientFrame(v1.ClientFrame.encode({ sendDanmaku: { text: `${heldWord} spam` } }).finish()));
  const one = Buffer.concat(parts);
  return {
    bytes: Buffer.concat(Array.from({ length: rounds }, () => one)),
    round: { resume: 1, wsPing: 1, appPing: 1, danmaku: heldWord === undefined ? 0 : 1 },
  };
}
