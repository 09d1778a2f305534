/**
 * A responder whose answer NATS refuses (over max_payload, as a 10,000-grab
 * red packet read once was) must not end the process: the requester times
 * out, and the responder answers the next request as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsBus } from '../../domain/bus-nats.js';
import { CoreErrorCode } from '../../domain/errors.js';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

describe('bus - an answer over max_payload', () => {
  let nats: NatsSetup;
  let bus: NatsBus;

  beforeAll(async () => {
    nats = await startNats();
    bus = await NatsBus.connect({ servers: nats.urls, name: 'oversized-test' });
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.stop();
  });

  it('bus - a refused answer times the requester out; the responder and the process stay up', async () => {
    const sub = bus.serve('test.big', async (data) => (data[0] === 1 ? new Uint8Array(2 * 1024 * 1024) : new Uint8Array([7])));
    await expect(bus.request('test.big', new Uint8Array([1]), 500)).rejects.toMatchObject({ code: CoreErrorCode.BusTimeout });
    expect([...(await bus.request('test.big', new Uint8Array([0]), 2_000))]).toEqual([7]);
    sub.unsubscribe();
  });
});
