/**
 * Control events for tests: a Notice published on a room's ingress subject
 * goes through core like any event (sequenced, stored as control, replayed on
 * resume). Notices are the control-class event nothing else in the tests
 * produces, so every one can be counted.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { v1 } from '../../../proto/index.js';
import { subjects } from '../../../domain/subjects.js';

/** A NATS connection that publishes notices into rooms. */
export class Injector {
  private constructor(readonly nc: NatsConnection) {}

  static async connect(urls: string[]): Promise<Injector> {
    return new Injector(
      await connect({ servers: urls, maxReconnectAttempts: -1, reconnectTimeWait: 100, pingInterval: 1000, maxPingOut: 2 }),
    );
  }

  notice(room: string, text: string): void {
    this.nc.publish(subjects.ingress(room), v1.Event.encode({ room, notice: { text, level: 'info' } }).finish());
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

export { setTimeout as sleep } from 'node:timers/promises';
