/**
 * Helpers of the moderation tests: moderate frames, waiting for an event of a
 * kind, and calling the moderation API with the key.
 */
import { v1 } from '../../proto/index.js';
import type { TestClient } from '../helpers/client.js';

/** Sends one Moderate frame. */
export function moderate(client: TestClient, m: v1.IModerate): void {
  client.send({ moderate: m });
}

/** Waits for an event of `kind` matching `match`, and returns it. */
export async function eventOf(
  client: TestClient,
  kind: string,
  match: (e: v1.Event) => boolean = () => true,
  timeoutMs = 3000,
): Promise<v1.Event> {
  const find = () => client.events.find((e) => e.kind === kind && match(e));
  await client.until(() => find() !== undefined, timeoutMs, `a ${kind} event`);
  return find() as v1.Event;
}

/** Waits for an error with `code` after `from` errors, and returns it. */
export async function errorOf(client: TestClient, code: v1.ErrorCode, from = 0, timeoutMs = 3000): Promise<v1.Error> {
  const find = () => client.errors.slice(from).find((e) => e.code === code);
  await client.until(() => find() !== undefined, timeoutMs, `error ${v1.ErrorCode[code]}`);
  return find() as v1.Error;
}

/** Calls the API with the key; JSON in and out. */
export async function api(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export { setTimeout as sleep } from 'node:timers/promises';
