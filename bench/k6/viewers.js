// viewers.js: ramp up concurrent viewers in one or many rooms while senders
// keep danmaku flowing; measure connects, what each viewer receives, delivery
// latency and gaps in the room sequence.
//
//   k6 run -e BARRAGE_URL=http://edge:8080 -e BARRAGE_SECRET=... -e VIEWERS=5000 bench/k6/viewers.js
//
// Environment (defaults in brackets):
//   BARRAGE_URL      base URL, or a comma-separated list of edges [http://127.0.0.1:8080]
//   BARRAGE_SECRET   token secret to mint viewer tokens (or TOKENS / TOKENS_FILE; none = guests)
//   ROOM / ROOM_COUNT / ROOMS   rooms to spread viewers over [k6]
//   VIEWERS          peak concurrent viewer connections [100]
//   CONNS_PER_VU     connections one k6 VU holds [20]
//   RAMP             time to reach VIEWERS [10s];  HOLD  time at the peak [30s]
//   SEND_RATE        danmaku per second offered to each room during HOLD [10]
//   SENDERS          sender connections per room [ceil(SEND_RATE / 1.5), to stay under the default 2/s limit]
//   P99_MS           threshold: p99 delivery latency from the event's ts_ms [100]
//   E2E_P99_MS       threshold: p99 latency from the sender's send time [250]
//   MAX_CONNECT_FAIL threshold: share of connections that fail before the welcome [0.01]
//   MAX_GAPS         threshold: events missing from a viewer's sequence [0]
//   PROBES           viewers that decode every frame (latency, gaps); the others
//                    only count frames, because decoding costs k6 ~0.4 ms a frame [50]
//   METRICS_URL      the edges' /metrics (comma-separated): the server's own p99 from an
//                    event's ts_ms to the socket write (barrage_edge_latency_seconds{hop="total"})
//                    over the run becomes barrage_server_p99_ms, with its own threshold; it
//                    does not include k6's time, so it holds on a busy load generator
//   SERVER_P99_MS    threshold on barrage_server_p99_ms [50]
//   SUMMARY_JSON     also write the k6 summary as JSON to this path
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';
import exec from 'k6/execution';
import {
  Connection,
  ErrorCode,
  sendEvery,
  SeqTracker,
  canSend,
  histogramBuckets,
  histogramQuantile,
  isSequenced,
  list,
  num,
  rooms,
  runId,
  seconds,
  stampTime,
  summarize,
  tokenFor,
} from './lib/barrage.js';

const roomList = rooms();
const viewers = num('VIEWERS', 100);
const perVu = Math.max(1, num('CONNS_PER_VU', 20));
const ramp = seconds('RAMP', '10s');
const hold = seconds('HOLD', '30s');
const sendRate = num('SEND_RATE', 10);
const senders = canSend() && sendRate > 0 ? num('SENDERS', Math.ceil(sendRate / 1.5)) : 0;
const viewerVus = Math.ceil(viewers / perVu);
/** Every `probeEvery`-th viewer decodes everything. */
const probeEvery = Math.max(1, Math.ceil(viewers / Math.max(1, num('PROBES', 50))));
const senderVus = Math.ceil((senders * roomList.length) / perVu);

const connectMs = new Trend('barrage_connect_ms', true);
const connectOk = new Rate('barrage_connect_ok');
const deliveryMs = new Trend('barrage_delivery_ms', true);
const e2eMs = new Trend('barrage_e2e_ms', true);
const received = new Counter('barrage_danmaku_received');
const frames = new Counter('barrage_frames_received');
const bytesIn = new Counter('barrage_bytes_received');
const gaps = new Counter('barrage_seq_gaps');
const skipped = new Counter('barrage_skipped');
const sent = new Counter('barrage_danmaku_sent');
const senderLimited = new Counter('barrage_sender_rate_limited');
const serverErrors = new Counter('barrage_error_frames');
const metricsUrls = list('METRICS_URL', []);
const serverP99 = new Trend('barrage_server_p99_ms', true);

/** The edges' ts_ms-to-socket histogram, summed over METRICS_URL. */
function serverBuckets() {
  const buckets = new Map();
  for (const url of metricsUrls) {
    const res = http.get(url, { tags: { name: 'metrics' } });
    if (res.status === 200) histogramBuckets(res.body, 'barrage_edge_latency_seconds', 'hop="total"', buckets);
  }
  return buckets;
}

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  scenarios: {
    viewers: {
      executor: 'ramping-vus',
      exec: 'viewer',
      startVUs: 0,
      stages: [
        { duration: `${ramp}s`, target: viewerVus },
        { duration: `${hold}s`, target: viewerVus },
      ],
      gracefulRampDown: '5s',
      gracefulStop: '5s',
    },
    ...(senderVus > 0
      ? {
          senders: {
            executor: 'per-vu-iterations',
            exec: 'sender',
            vus: senderVus,
            iterations: 1,
            startTime: `${ramp}s`,
            maxDuration: `${hold + 5}s`,
            gracefulStop: '5s',
          },
        }
      : {}),
  },
  thresholds: {
    barrage_connect_ok: [`rate>=${1 - num('MAX_CONNECT_FAIL', 0.01)}`],
    barrage_delivery_ms: [`p(99)<${num('P99_MS', 100)}`],
    barrage_e2e_ms: [`p(99)<${num('E2E_P99_MS', 250)}`],
    barrage_seq_gaps: [`count<=${num('MAX_GAPS', 0)}`],
    ...(senderVus > 0 ? { barrage_danmaku_received: ['count>0'] } : {}),
    ...(metricsUrls.length > 0 ? { barrage_server_p99_ms: [`max<${num('SERVER_P99_MS', 50)}`] } : {}),
  },
};

export function setup() {
  // Bounds as strings: setup data is JSON, which has no Infinity (Number('Infinity') reads it back).
  return { start: Date.now(), server: metricsUrls.length > 0 ? [...serverBuckets()].map(([le, n]) => [String(le), n]) : [] };
}

export function teardown(data) {
  if (metricsUrls.length === 0) return;
  const p99 = histogramQuantile(serverBuckets(), new Map(data.server.map(([le, n]) => [Number(le), n])), 0.99);
  if (!Number.isNaN(p99)) serverP99.add(p99 * 1000);
}

/** One VU: CONNS_PER_VU viewers, each held until the end of HOLD. */
export function viewer(data) {
  const end = data.start + (ramp + hold) * 1000;
  // Each iteration holds its sockets to the end, so iteration numbers are slots 0, 1, 2, ...
  const first = exec.scenario.iterationInTest * perVu;
  for (let i = 0; i < perVu && first + i < viewers; i++) {
    const n = first + i;
    const room = roomList[n % roomList.length];
    const seqs = new SeqTracker();
    let welcomed = false;
    const probe = n % probeEvery === 0;
    // Counted here and added once at close: a k6 metric sample per frame costs more than the frame.
    let nFrames = 0;
    let nBytes = 0;
    const flush = () => {
      frames.add(nFrames);
      bytesIn.add(nBytes);
      nFrames = nBytes = 0;
    };
    const conn = new Connection(
      n,
      room,
      tokenFor(n, room),
      {
        onFrame(data) {
          nFrames++;
          nBytes += data.byteLength;
        },
        onClose: flush,
        onWelcome(w) {
          welcomed = true;
          connectOk.add(1);
          connectMs.add(Date.now() - conn.openedAt);
          seqs.base(w.seq);
        },
        onFail() {
          if (!welcomed) connectOk.add(0);
          welcomed = true; // count a failure once
        },
        onEvents(events, batch) {
          const now = Date.now();
          if (batch.skipped) skipped.add(batch.skipped);
          let lastSeq = 0;
          for (const ev of events) {
            if (!isSequenced(ev)) continue;
            lastSeq = ev.seq;
            seqs.see(ev.seq);
            if (ev.kind !== 'danmaku' || batch.history) continue;
            received.add(1);
            deliveryMs.add(now - ev.tsMs);
            const sentAt = stampTime(ev.danmaku.clientMsgId || '');
            if (sentAt > 0) e2eMs.add(now - sentAt);
          }
          if (!batch.history && conn.welcome && lastSeq) {
            // Skipped chat (overload, backpressure) was announced; only unexplained holes are gaps.
            const lost = seqs.settle(lastSeq) - (batch.skipped || 0);
            if (lost > 0) gaps.add(lost);
          }
        },
        onError() {
          serverErrors.add(1);
        },
      },
      -1,
      probe,
    );
    setTimeout(
      () => {
        // Counted before the close: an overloaded k6 may stop the iteration before the close arrives.
        flush();
        conn.close();
      },
      Math.max(0, end - Date.now()),
    );
  }
}

/** One VU: CONNS_PER_VU senders, each offering its share of SEND_RATE until HOLD ends. */
export function sender(data) {
  const end = data.start + (ramp + hold) * 1000 - 1000; // stop a second early so the last ones arrive
  const perSender = sendRate / senders;
  const first = exec.scenario.iterationInTest * perVu;
  for (let i = 0; i < perVu && first + i < senders * roomList.length; i++) {
    const n = first + i;
    const room = roomList[n % roomList.length];
    const name = `s${runId}x${n}`;
    const interval = 1000 / perSender;
    const phase = (Math.floor(n / roomList.length) / senders) * interval;
    let stop;
    const conn = new Connection(
      n,
      room,
      tokenFor(1_000_000 + n, room, 'viewer', name),
      {
        onWelcome() {
          stop = sendEvery(conn, name, interval, phase, end, () => sent.add(1));
        },
        onError(err) {
          if (err.code === ErrorCode.ERROR_CODE_RATE_LIMITED) senderLimited.add(1);
          else serverErrors.add(1);
        },
        onClose() {
          if (stop) stop();
        },
      },
      -1,
      false,
    ); // senders only need their errors decoded, not the room's batches
    setTimeout(() => conn.close(), Math.max(0, end + 500 - Date.now()));
  }
}

export function handleSummary(data) {
  const notes = [`${Math.ceil(viewers / probeEvery)} of ${viewers} viewers decoded every frame (PROBES); latency and gaps are theirs`];
  if (senderVus === 0)
    notes.push('note: no BARRAGE_SECRET or TOKENS, so viewers joined as guests and nothing was sent: latency was not measured');
  const server = data.metrics.barrage_server_p99_ms;
  const delivery = data.metrics.barrage_delivery_ms;
  if (server && delivery) {
    const s = server.values.max;
    const k = delivery.values['p(99)'];
    notes.push(
      `server p99 (ts_ms to socket write) ${s.toFixed(1)} ms; k6 delivery p99 ${k.toFixed(1)} ms: ${Math.max(0, k - s).toFixed(1)} ms of it is k6, the network and the machine`,
    );
  }
  const limited = data.metrics.barrage_sender_rate_limited;
  if (limited && limited.values.count > 0) {
    notes.push(`note: senders were rate limited ${limited.values.count} times; raise SENDERS or BARRAGE_DANMAKU_RATE for this SEND_RATE`);
  }
  return summarize(
    `Barrage viewers: ${viewers} viewers in ${roomList.length} room(s), ${sendRate} danmaku/s per room from ${senders} sender(s) per room`,
    data,
    notes,
  );
}
