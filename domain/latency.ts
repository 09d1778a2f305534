/**
 * Per-hop latency histograms: where the time between a viewer pressing send
 * and every other viewer's socket getting the danmaku goes. The edge and core
 * each own one histogram with a `hop` label (docs/operations.md, "Latency"):
 *
 *   viewer ─▶ edge `ingress` ─▶ core `ingress` ─▶ core `store` ─▶ edge `bus` ─▶ edge `flush` ─▶ sockets
 *                                                 └──────────── edge `total` (event ts_ms → socket write) ───┘
 *
 * Observations are per event or per client frame, never per socket, so the
 * cost does not grow with the audience. Hops that compare two processes'
 * wall clocks (`core ingress`, `edge bus`, `edge total`) read the event's
 * `ts_ms`; across machines they include the clock offset (keep NTP on).
 */
import { Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * Buckets from 1 ms to 10 s, denser below 100 ms where the SLO sits
 * (`histogram_quantile` interpolates inside a bucket, so a 50 ms target wants
 * edges near 50 ms).
 */
export const latencyBuckets: readonly number[] = [
  0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10,
];

/** Hops the edge measures. */
export const EdgeHop = {
  /** A client frame received → its event published to core (decode, checks, encode). */
  Ingress: 'ingress',
  /** Event `ts_ms` (core received it) → received by this edge from the bus (sequencing, storage, republish, NATS). */
  Bus: 'bus',
  /** Received by this edge → written into the sockets (the batch window and the publish to every socket). */
  Flush: 'flush',
  /** Event `ts_ms` → written into the sockets: core and edge together. */
  Total: 'total',
} as const;
/** A hop the edge measures. */
export type EdgeHop = (typeof EdgeHop)[keyof typeof EdgeHop];

/** Hops core measures. */
export const CoreHop = {
  /** The edge received the frame (the ingress event's `ts_ms`) → core received it: the bus between them. */
  Ingress: 'ingress',
  /** Core received an event → sequenced and stored (the JetStream acknowledgement included; 0 in one process). */
  Store: 'store',
} as const;
/** A hop core measures. */
export type CoreHop = (typeof CoreHop)[keyof typeof CoreHop];

/** One hop's histogram, with its label bound (no label look-up per observation). */
export interface HopObserver {
  /** Records one duration in seconds. */
  observe(seconds: number): void;
}

/** Records a duration given in milliseconds; a negative one (clocks of two machines) counts as 0. */
export function observeMs(hop: HopObserver, ms: number): void {
  hop.observe(ms > 0 ? ms / 1000 : 0);
}

/** One histogram with a `hop` label, each hop bound once (no label look-up per observation). */
export class HopHistogram<H extends string> {
  readonly metric: Histogram<'hop'>;
  readonly hops: Readonly<Record<H, HopObserver>>;

  constructor(name: string, help: string, hops: Readonly<Record<string, H>>) {
    this.metric = new Histogram({ name, help, labelNames: ['hop'] as const, buckets: [...latencyBuckets], registers: [] });
    const bound = {} as Record<H, HopObserver>;
    for (const hop of Object.values(hops)) {
      // Every hop is exported from the start: a zero series, not a missing one, before traffic.
      this.metric.zero({ hop });
      bound[hop] = this.metric.labels(hop);
    }
    this.hops = bound;
  }

  /** Exports the histogram in `registry` (it may be exported in several). */
  registerIn(registry: Registry): void {
    registry.registerMetric(this.metric);
  }
}

/** The edge's latency histogram, `barrage_edge_latency_seconds{hop}`. */
export type EdgeLatency = HopHistogram<EdgeHop>;

/** Makes an edge's histogram, exported in `registry`. */
export function edgeLatency(registry: Registry): EdgeLatency {
  const h = new HopHistogram(
    'barrage_edge_latency_seconds',
    'Latency of one hop of an event through this edge (ingress, bus, flush) and in total from its ts_ms to the socket write',
    EdgeHop,
  );
  h.registerIn(registry);
  return h;
}

/**
 * Core's latency histogram, `barrage_core_latency_seconds{hop}`. Made with
 * the sequencer (before core's registry exists) and registered where core's
 * metrics are served: core's own `/metrics`, or the edge's in one process.
 */
export type CoreLatency = HopHistogram<CoreHop>;

/** Makes core's histogram (not yet exported anywhere). */
export function coreLatency(): CoreLatency {
  return new HopHistogram(
    'barrage_core_latency_seconds',
    'Latency of one hop of an event through core: from the edge to core (ingress), and to sequenced and stored (store)',
    CoreHop,
  );
}
