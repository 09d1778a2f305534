/**
 * Where the analytics sink reads room events from. In one process it is a
 * bus subscription (`BusEventSource`); clustered it is a durable JetStream
 * consumer, which acknowledges a message only when the sink says the store
 * accepted the batch holding it, and which can stop fetching when the sink's
 * buffer is full (a bus subscription cannot, so the sink spills to disk).
 */
import type { Bus, Subscription } from '../../domain/bus.js';
import { subjects } from '../../domain/subjects.js';

/** Called once per encoded `Event`; `handle` comes back in `ack` (undefined for a bus). */
export type SourceDeliver = (data: Uint8Array, handle: unknown) => void;

/** What a source knows of one delivery, when it may deliver an event more than once. */
export interface Delivery {
  /** The event's position in the source (a stream sequence): the same on every delivery of it. */
  id: number;
  /** Delivered before: the sink may have stored it already (a crash before the ack, an ack too late). */
  redelivered: boolean;
}

/** A stream of sequenced room events for the analytics sink. */
export interface EventSource {
  /** Starts delivering. Called once. */
  start(deliver: SourceDeliver): void;
  /**
   * The store accepted every event whose handle is in `handles` (delivery
   * order). A durable source acknowledges them now and never before.
   */
  ack(handles: readonly unknown[]): void;
  /**
   * Gives events back undelivered, to be delivered again at once (to this or
   * another process) rather than after the ack wait. Absent when nothing
   * would come again (a bus subscription).
   */
  release?(handles: readonly unknown[]): void;
  /** Identifies a delivery by its handle. Absent when every event is delivered once (a bus subscription). */
  deliveryOf?(handle: unknown): Delivery;
  /** Stop fetching: the sink's buffer is full. Absent when the source cannot be paused. */
  pause?(): void;
  /** Fetch again after `pause`. */
  resume?(): void;
  /** Stops delivering; resolves when no more `deliver` calls will come. */
  stop(): Promise<void>;
}

/** Every sequenced event of every room, from a bus subscription. Nothing to acknowledge. */
export class BusEventSource implements EventSource {
  private sub: Subscription | undefined;

  constructor(
    private readonly bus: Bus,
    /** Defaults to every room's events, `barrage.room.*.ev`. */
    private readonly subject = subjects.events('*'),
  ) {}

  start(deliver: SourceDeliver): void {
    this.sub = this.bus.subscribe(this.subject, (data) => deliver(data, undefined));
  }

  ack(): void {
    // A bus subscription has no acknowledgments; loss on a crash is the
    // single-process promise (the events were only in memory anyway).
  }

  async stop(): Promise<void> {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }
}
