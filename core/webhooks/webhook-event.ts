/**
 * One webhook event as JSON, made once per event and shared by every
 * receiver (the bytes of a batch are these strings joined):
 *
 *   { "id": "evt_…", "kind": "danmaku", "type": "danmaku", "room": "r1",
 *     "seq": 12, "ts_ms": 1764100000000, "time": "2026-11-25T19:46:40.000Z",
 *     "user": { "id": "u1", "name": "Ann", "role": "viewer" } | null,
 *     "actor": …, "reason": …, "payload": { …the kind's fields, snake_case… } }
 *
 * `id` is derived from the event's stored bytes (SHA-256), so every
 * delivery of one event, a retry, a JetStream redelivery after a crash, a
 * replay of a dead letter, carries the same id: receivers de-duplicate on
 * it. (`room:seq` is not enough: a single process restarts its seqs in a new
 * epoch.) `seq` is null for what is not sequenced (held danmaku, joins and
 * leaves); counters repeat the room's latest seq.
 */
import { createHash } from 'node:crypto';
import { v1 } from '../../proto/index.js';
import { webhookKindOf } from '../../domain/webhook-kinds.js';
import type { WebhookKind } from '../../domain/webhook-kinds.js';

/** An event ready to be batched: its JSON text, where it belongs, and how old it is. */
export interface WebhookItem {
  /** `evt_` + 24 hex digits of the SHA-256 of the source bytes. */
  id: string;
  kind: WebhookKind;
  room: string;
  /** The room's seq, or -1 for what is not sequenced (held danmaku): a room's queue is kept in this order. */
  seq: number;
  /** The serialised event object (one element of a batch's `events`). */
  json: string;
  /** When the event happened (ms since the epoch): what lag is measured from. */
  tsMs: number;
}

/** The id of an event from the bytes it was stored or published as. */
export function webhookEventId(bytes: Uint8Array): string {
  return 'evt_' + createHash('sha256').update(bytes).digest('hex').slice(0, 24);
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

/**
 * A decoded message as plain JSON with the .proto's snake_case names, as the
 * rest of the HTTP API spells fields. The generated code has no `toObject`
 * (`--no-convert` keeps the bundle small), so this walks the fields present
 * on the wire (the decoder's own properties; defaults live on the prototype
 * and are left out). Enumerations stay numbers, bytes become base64.
 */
function plainOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainOf);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[snake(k)] = plainOf(v);
  return out;
}

const roleName = (role: unknown): string => {
  const name = typeof role === 'number' ? (v1.Role as unknown as Record<number, string | undefined>)[role] : undefined;
  return (name ?? 'ROLE_GUEST').replace(/^ROLE_/, '').toLowerCase();
};

function userJson(user: v1.IUser | null | undefined): Record<string, unknown> | null {
  if (!user) return null;
  return { id: user.id ?? '', name: user.name ?? '', role: roleName(user.role ?? 0) };
}

/**
 * The webhook item of an encoded `Event`, or undefined when it is not sent
 * (a kind with no webhook kind, one not in `kinds`) or is not an event.
 */
export function itemOfEvent(bytes: Uint8Array, kinds: ReadonlySet<WebhookKind>): WebhookItem | undefined {
  let event: v1.Event;
  try {
    event = v1.Event.decode(bytes);
  } catch {
    return undefined;
  }
  const type = event.kind;
  const kind = webhookKindOf(type);
  if (!type || !kind || !kinds.has(kind)) return undefined;
  const message = event[type] as { user?: v1.IUser | null } | null | undefined;
  const body = (plainOf(message) ?? {}) as Record<string, unknown>;
  const user = userJson(message?.user);
  delete body['user'];
  const tsMs = Number(event.tsMs);
  const id = webhookEventId(bytes);
  const json: Record<string, unknown> = {
    id,
    kind,
    type: snake(type),
    room: event.room,
    seq: Number(event.seq),
    ts_ms: tsMs,
    time: new Date(tsMs).toISOString(),
    user,
    payload: body,
  };
  if (event.actor) json['actor'] = userJson(event.actor);
  if (event.reason) json['reason'] = event.reason;
  return { id, kind, room: event.room, seq: Number(event.seq), json: JSON.stringify(json), tsMs };
}

/**
 * A webhook item of something not sequenced (a held danmaku, a join or a
 * leave): `payload` as given, `bytes` what its id is derived from.
 */
export function itemOf(
  kind: WebhookKind,
  room: string,
  tsMs: number,
  user: Record<string, unknown> | null,
  payload: Record<string, unknown>,
  bytes: Uint8Array,
): WebhookItem {
  const id = webhookEventId(bytes);
  const json = { id, kind, type: kind, room, seq: null, ts_ms: tsMs, time: new Date(tsMs).toISOString(), user, payload };
  return { id, kind, room, seq: -1, json: JSON.stringify(json), tsMs };
}

/** The webhook item of a `Held` message from the room's held subject (a danmaku the filter held, or its fate). */
export function itemOfHeld(bytes: Uint8Array, kinds: ReadonlySet<WebhookKind>): WebhookItem | undefined {
  if (!kinds.has('held')) return undefined;
  let held: v1.Held;
  try {
    held = v1.Held.decode(bytes);
  } catch {
    return undefined;
  }
  if (!held.room) return undefined;
  const plain = plainOf(held) as Record<string, unknown>;
  const user = userJson(held.danmaku?.user);
  const tsMs = Number(held.tsMs) || Date.now();
  return itemOf('held', held.room, tsMs, user, plain, bytes);
}

/**
 * The webhook item of a join or leave an edge reported (edge/webhook-presence.ts,
 * JSON), or undefined when its kind is not wanted or the bytes are not one.
 */
export function itemOfPresence(bytes: Uint8Array, kinds: ReadonlySet<WebhookKind>): WebhookItem | undefined {
  let p: { event?: unknown; room?: unknown; user?: unknown; edge?: unknown; session?: unknown; ts_ms?: unknown };
  try {
    p = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof p;
  } catch {
    return undefined;
  }
  const kind = p.event === 'join' ? 'join' : p.event === 'leave' ? 'leave' : undefined;
  if (!kind || !kinds.has(kind) || typeof p.room !== 'string' || !p.room) return undefined;
  const u = (typeof p.user === 'object' && p.user !== null ? p.user : {}) as Record<string, unknown>;
  const user = { id: String(u['id'] ?? ''), name: String(u['name'] ?? ''), role: String(u['role'] ?? 'viewer') };
  const tsMs = typeof p.ts_ms === 'number' ? p.ts_ms : Date.now();
  return itemOf(kind, p.room, tsMs, user, { edge: String(p.edge ?? ''), session: Number(p.session ?? 0) }, bytes);
}
