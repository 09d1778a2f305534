// reconnect-storm.js: many viewers drop at the same moment and reconnect at
// once with `since=<last seq>`, while senders keep the room busy. Checks that
// every resume is answered `recovered: true` and that, across the drop, each
// viewer's sequence has no hole: what was sent while it was away arrives in
// the resume history, once.
//
//   k6 run -e BARRAGE_URL=http://lb:8080 -e BARRAGE_SECRET=... -e VIEWERS=2000 -e STORMS=3 bench/k6/reconnect-storm.js
//
// Environment (defaults in brackets):
//   BARRAGE_URL, BARRAGE_SECRET (or TOKENS / TOKENS_FILE), ROOM [k6-reconnect]: as in viewers.js
//   VIEWERS          viewer connections [200]
//   CONNS_PER_VU     connections one k6 VU holds [20]
//   WARMUP           time before the first storm [3s]
//   STORMS           how many times everyone drops [3]
//   EVERY            time between storms [5s]
//   JITTER_MS        reconnect after a random 0..JITTER_MS (0 = all at once, the worst case) [0]
//   SEND_RATE        danmaku per second into the room, from SENDERS senders [10]
//   SENDERS          [ceil(SEND_RATE / 1.5)]
//   RECONNECT_P95_MS threshold: p95 time from drop to the new welcome [1000]
//   MIN_RECOVERED    threshold: share of resumes answered recovered [1]
//   PROBES           viewers that decode every frame and check their sequence for
//                    gaps; the others only read each batch's highest seq to resume
//                    from, because decoding costs k6 ~0.4 ms a frame [50]
//   SUMMARY_JSON     also write the k6 summary as JSON to this path
import { Counter, Rate, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';
import exec from 'k6/execution';
import {
  Connection,
  batchTag,
  maxSeqOfBatch,
  sendEvery,
  SeqTracker,
  canSend,
  env,
  isSequenced,
  num,
  runId,
  seconds,
  summarize,
  tokenFor,
} from './lib/barrage.js';

const room = env('ROOM', 'k6-reconnect');
const viewers = num('VIEWERS', 200);
const perVu = Math.max(1, num('CONNS_PER_VU', 20));
const warmup = seconds('WARMUP', '3s');
const storms = num('STORMS', 3);
const every = seconds('EVERY', '5s');
const jitterMs = num('JITTER_MS', 0);
const sendRate = num('SEND_RATE', 10);
const senders = canSend() && sendRate > 0 ? num('SENDERS', Math.ceil(sendRate / 1.5)) : 0;
const duration = warmup + storms * every;
const probeEvery = Math.max(1, Math.ceil(viewers / Math.max(1, num('PROBES', 50))));

const connectOk = new Rate('barrage_connect_ok');
const reconnectMs = new Trend('barrage_reconnect_ms', true);
const recovered = new Rate('barrage_resume_recovered');
const gaps = new Counter('barrage_seq_gaps');
const replayed = new Counter('barrage_resume_replayed');
const reconnects = new Counter('barrage_reconnects');
const received = new Counter('barrage_danmaku_received');
const sent = new Counter('barrage_danmaku_sent');

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  scenarios: {
    viewers: {
      executor: 'per-vu-iterations',
      exec: 'viewer',
      vus: Math.ceil(viewers / perVu),
      iterations: 1,
      maxDuration: `${duration + 15}s`,
      gracefulStop: '5s',
    },
    ...(senders > 0
      ? {
          senders: {
            executor: 'per-vu-iterations',
            exec: 'sender',
            vus: Math.ceil(senders / perVu),
            iterations: 1,
            maxDuration: `${duration + 15}s`,
            gracefulStop: '5s',
          },
        }
      : {}),
  },
  thresholds: {
    barrage_connect_ok: ['rate==1'],
    barrage_resume_recovered: [`rate>=${num('MIN_RECOVERED', 1)}`],
    barrage_seq_gaps: ['count==0'],
    barrage_reconnect_ms: [`p(95)<${num('RECONNECT_P95_MS', 1000)}`],
    ...(storms > 0 ? { barrage_reconnects: [`count>=${storms * viewers}`] } : {}),
  },
};

export function setup() {
  // Start everyone a moment from now, so the storms fall at the same instant for every VU.
  return { start: Date.now() + 1000 };
}

/** One VU: CONNS_PER_VU viewers that drop at every storm and resume. */
export function viewer(data) {
  const first = exec.scenario.iterationInTest * perVu;
  for (let i = 0; i < perVu && first + i < viewers; i++) startViewer(first + i, data.start);
}

function startViewer(n, start) {
  const probe = n % probeEvery === 0;
  const seqs = new SeqTracker();
  /** Non-probes: the highest seq seen, read without decoding. */
  let maxSeen = -1;
  const token = tokenFor(n, room);
  const end = start + duration * 1000;
  let conn;
  let droppedAt = 0;
  let dropping = false;
  let finished = false;
  let hops = 0;

  const open = (since) => {
    const resuming = since >= 0;
    let welcomed = false;
    conn = new Connection(
      // With several edges in BARRAGE_URL, each reconnect goes to the next one: resume across edges.
      n + hops,
      room,
      token,
      {
        onWelcome(w) {
          welcomed = true;
          connectOk.add(1);
          if (resuming) {
            reconnectMs.add(Date.now() - droppedAt);
            recovered.add(w.recovered);
            reconnects.add(1);
            // A resume the server could not recover is reported, not a gap.
            if (!w.recovered) {
              seqs.base(w.seq);
              maxSeen = Math.max(maxSeen, w.seq);
            }
          } else {
            seqs.base(w.seq);
            maxSeen = Math.max(maxSeen, w.seq);
          }
        },
        onFrame(data) {
          if (probe || conn.welcome === undefined) return;
          const bytes = new Uint8Array(data);
          if (bytes[0] === batchTag) maxSeen = Math.max(maxSeen, maxSeqOfBatch(bytes));
        },
        onFail(message) {
          if (welcomed) return;
          welcomed = true;
          connectOk.add(0);
          console.warn(`viewer ${n}: ${message}`);
        },
        onEvents(events, batch) {
          let lastSeq = 0;
          for (const ev of events) {
            if (!isSequenced(ev)) continue;
            lastSeq = ev.seq;
            const fresh = seqs.see(ev.seq);
            if (batch.history && resuming && fresh) replayed.add(1);
            if (!batch.history && ev.kind === 'danmaku') received.add(1);
          }
          if (!batch.history && conn.welcome && lastSeq) {
            const lost = seqs.settle(lastSeq) - (batch.skipped || 0);
            if (lost > 0) gaps.add(lost);
          }
        },
        onClose() {
          if (finished) return;
          // A close we did not ask for (an edge going away) is a drop too.
          if (!dropping) droppedAt = Date.now();
          dropping = false;
          hops++;
          const since = probe ? seqs.last : maxSeen;
          const wait = jitterMs > 0 ? Math.random() * jitterMs : 0;
          if (wait > 0) setTimeout(() => open(since), wait);
          else open(since);
        },
      },
      since,
      probe,
    );
  };

  setTimeout(() => open(-1), Math.max(0, start - 1000 - Date.now() + (n % 10) * 50));
  for (let k = 0; k < storms; k++) {
    const at = start + (warmup + k * every) * 1000;
    setTimeout(() => {
      droppedAt = Date.now();
      dropping = true;
      conn.close();
    }, at - Date.now());
  }
  setTimeout(
    () => {
      finished = true;
      conn.close();
    },
    end + 1000 - Date.now(),
  );
}

/** One VU: senders keeping danmaku flowing through the storms. */
export function sender(data) {
  const first = exec.scenario.iterationInTest * perVu;
  const end = data.start + duration * 1000;
  for (let i = 0; i < perVu && first + i < senders; i++) {
    const n = first + i;
    const name = `r${runId}x${n}`;
    const interval = (senders / sendRate) * 1000;
    let stop;
    const conn = new Connection(
      n,
      room,
      tokenFor(1_000_000 + n, room, 'viewer', name),
      {
        onWelcome() {
          stop = sendEvery(conn, name, interval, (n / senders) * interval, end, () => sent.add(1));
        },
        onClose() {
          if (stop) stop();
        },
      },
      -1,
      false,
    ); // senders need no batches decoded
  }
}

export function handleSummary(data) {
  const notes = [`${Math.ceil(viewers / probeEvery)} of ${viewers} viewers decoded every frame and checked for gaps (PROBES)`];
  return summarize(
    `Barrage reconnect storm: ${viewers} viewers in room ${room} dropping ${storms} time(s), every ${every}s, ${sendRate} danmaku/s`,
    data,
    notes,
  );
}
