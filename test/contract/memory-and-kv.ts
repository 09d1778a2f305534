/**
 * The two implementations most core stores have, for their contract suites:
 * memory (one process) and NATS KV on a real nats-server, a fresh bucket per
 * `open()`. "Another core" (`other()`) is a second store on its own
 * connection to the same bucket; in one process it is the same store.
 * Registers the suite's beforeAll/afterAll for the nats-server.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { startNats } from '../nats/helpers/nats-server.js';
import type { NatsSetup } from '../nats/helpers/nats-server.js';

export interface Stores<S> {
  store: S;
  /** Another store on the same data (another core, or this one restarted); in one process the same store. */
  other(): Promise<S>;
  /** Closes every store `open()` and `other()` made. */
  close(): Promise<void>;
}

export interface Implementation<S> {
  name: string;
  open(): Promise<Stores<S>>;
}

export function memoryAndKv<S extends { close(): Promise<void> }>(options: {
  memory: () => S;
  kv: (nc: NatsConnection, bucket: string) => Promise<S>;
  /** Bucket names are this plus a counter. */
  bucketPrefix: string;
}): Array<Implementation<S>> {
  let nats: NatsSetup | undefined;
  const connections: NatsConnection[] = [];
  let buckets = 0;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    for (const nc of connections) await nc.close();
    await nats?.stop();
  });
  return [
    {
      name: 'memory',
      async open() {
        const store = options.memory();
        return { store, other: async () => store, close: () => store.close() };
      },
    },
    {
      name: 'kv',
      async open() {
        const bucket = `${options.bucketPrefix}${++buckets}`;
        const opened: S[] = [];
        const openOne = async (): Promise<S> => {
          const nc = await connect({ servers: (nats as NatsSetup).urls });
          connections.push(nc);
          const store = await options.kv(nc, bucket);
          opened.push(store);
          return store;
        };
        return {
          store: await openOne(),
          other: openOne,
          async close() {
            for (const s of opened) await s.close();
          },
        };
      },
    },
  ];
}
