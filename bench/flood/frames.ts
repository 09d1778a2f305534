/**
 * The few ServerFrame facts the flood benchmark reads from raw bytes (which
 * kind, an error's code, a Welcome's seq) and the attack frames it writes,
 * framed once per connection so the flood loop only copies bytes.
 */
import { v1 } from '../../proto/index.js';
import { ServerFrameField } from '../../proto/gen/tables.js';
import { WireType, tagOf } from '../../proto/wire.js';
import { Opcode, encodeClientFrame } from '../lib/raw-ws.js';

/** ServerFrame kinds by their first byte (the field's tag, or its first byte when it takes two, as `held`'s does). */
export const serverKindByTag: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ServerFrameField).map(([kind, field]) => {
    const tag = tagOf(field, WireType.Len);
    return [tag < 0x80 ? tag : (tag & 0x7f) | 0x80, kind];
  }),
);
const tagWelcome = tagOf(ServerFrameField.welcome, WireType.Len);
const tagError = tagOf(ServerFrameField.error, WireType.Len);

/** The code of a ServerFrame.error in `buf[start, end)`, or -1 when the frame is not an error. */
export function readErrorCode(buf: Buffer, start: number, end: number): number {
  if (end <= start || buf[start] !== tagError) return -1;
  // Errors are few (the edge sends at most one RATE_LIMITED a second per socket): decode them whole.
  return v1.ServerFrame.decode(buf.subarray(start, end)).error?.code ?? 0;
}

/** The room seq a Welcome carries, or -1 when the frame is not a Welcome. */
export function readWelcomeSeq(buf: Buffer, start: number, end: number): number {
  if (end <= start || buf[start] !== tagWelcome) return -1;
  return Number(v1.ServerFrame.decode(buf.subarray(start, end)).welcome?.seq ?? 0);
}

/** What one round of the attack holds, for counting what was written. */
export interface AttackRound {
  resume: number;
  wsPing: number;
  appPing: number;
  danmaku: number;
}

/** The frame kinds an attack can mix (`--mix`), by name. */
export const attackKinds = ['resume', 'ws-ping', 'app-ping', 'held'] as const;
/** One of `attackKinds`. */
export type AttackKind = (typeof attackKinds)[number];

/**
 * `rounds` rounds of attack frames in one buffer: each a `resume` from
 * `lastSeq` (the oldest retained event, so every accepted one replays the
 * whole ring), a WebSocket ping, an app `ping`, and, when the socket has a
 * viewer token, a danmaku carrying the held word; only the kinds in `mix`.
 */
export function attackChunk(
  room: string,
  lastSeq: number,
  heldWord: string | undefined,
  rounds: number,
  mix: readonly AttackKind[],
): { bytes: Buffer; round: AttackRound } {
  const round: AttackRound = { resume: 0, wsPing: 0, appPing: 0, danmaku: 0 };
  const parts: Buffer[] = [];
  if (mix.includes('resume')) {
    parts.push(encodeClientFrame(v1.ClientFrame.encode({ resume: { room, lastSeq } }).finish()));
    round.resume = 1;
  }
  if (mix.includes('ws-ping')) {
    parts.push(encodeClientFrame(Buffer.alloc(0), Opcode.Ping));
    round.wsPing = 1;
  }
  if (mix.includes('app-ping')) {
    parts.push(encodeClientFrame(v1.ClientFrame.encode({ ping: { clientTsMs: 1 } }).finish()));
    round.appPing = 1;
  }
  if (heldWord !== undefined && mix.includes('held')) {
    parts.push(encodeClientFrame(v1.ClientFrame.encode({ sendDanmaku: { text: `${heldWord} spam` } }).finish()));
    round.danmaku = 1;
  }
  const one = Buffer.concat(parts);
  return { bytes: Buffer.concat(Array.from({ length: rounds }, () => one)), round };
}
