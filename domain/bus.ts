/**
 * The bus joins edges and core. In one process it is a function call
 * (`MemoryBus`); across machines it is NATS (`NatsBus`). Both carry opaque
 * bytes on dot-separated subjects with NATS wildcard rules (`*` one token,
 * `>` the rest), so the code above the bus cannot tell which one it runs on.
 */

/** Receives one message. Must not throw; errors are the handler's to log. */
export type BusHandler = (data: Uint8Array, subject: string) => void;

/** Answers one request; the returned bytes go back to the requester. */
export type BusResponder = (data: Uint8Array, subject: string) => Uint8Array | Promise<Uint8Array>;

/** How a subscription shares its messages. */
export interface SubscribeOptions {
  /**
   * Queue group: each message goes to one member of the group instead of to
   * every member (how several cores split ingress, likes and presence). A
   * subscriber without a group still gets every message.
   */
  queue?: string;
}

/** An interest that can be dropped. */
export interface Subscription {
  unsubscribe(): void;
}

/** Connection state of a bus; a memory bus is always `connected`. */
export const BusStatus = {
  Connected: 'connected',
  Reconnecting: 'reconnecting',
  Closed: 'closed',
} as const;
export type BusStatus = (typeof BusStatus)[keyof typeof BusStatus];

/** Carries bytes between edges and core. */
export interface Bus {
  /** Fire and forget. Never throws for a closed bus: the message is counted as dropped. */
  publish(subject: string, data: Uint8Array): void;
  /** Every message on `subject` (wildcards allowed) until unsubscribed; one member of a queue group gets each. */
  subscribe(subject: string, handler: BusHandler, options?: SubscribeOptions): Subscription;
  /**
   * One answer from one responder, or a `BusError`: `NO_RESPONDER` at once
   * when nobody serves `subject`, `BUS_TIMEOUT` after `timeoutMs` when the
   * responder is slow or failed (a responder that throws answers nothing, as
   * a dead one would), `BUS_CLOSED` on a closed bus.
   */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Answer requests on `subject`; with several responders one answers each request. */
  serve(subject: string, responder: BusResponder): Subscription;
  /** Current connection state; readiness follows it. */
  status(): BusStatus;
  /** Resolves once everything published so far has been handed on. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
