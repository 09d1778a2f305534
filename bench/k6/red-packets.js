// red-packets.js: a storm of grabs. setup() opens one red packet through the
// HTTP API; GRABBERS viewer connections (CONNS_PER_VU per k6 VU) join the
// room, wait for a common start time, and all grab at once (again after
// UNAVAILABLE or RATE_LIMITED, as the widget does). Measures the time from a
// grab to its answer and the grab throughput; teardown() reads the packet
// back and checks the promises: every share taken once, by distinct users,
// summing to the total, and every grabber answered.
//
//   k6 run -e BARRAGE_URL=http://lb:8080 -e BARRAGE_SECRET=... -e BARRAGE_API_KEY=... \
//          -e GRABBERS=20000 -e SHARES=10000 bench/k6/red-packets.js
//
// Environment (defaults in brackets):
//   BARRAGE_URL, BARRAGE_SECRET (or TOKENS / TOKENS_FILE), ROOM [k6-red-packets]: as in viewers.js
//   API_URL          where the HTTP API is, if not the first BARRAGE_URL
//   BARRAGE_API_KEY  the API key (required)
//   GRABBERS         viewer connections that grab [200]
//   CONNS_PER_VU     connections one VU holds [50]
//   SHARES           shares of the packet [100]
//   TOTAL_CENTS      the packet's total [SHARES * 100]
//   JOIN             time for every grabber to connect before the storm [10s]
//   P99_MS           threshold: p99 from a grab to its answer [2000]
//   SUMMARY_JSON     also write the k6 summary as JSON to this path
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import { clearTimeout, setTimeout } from 'k6/timers';
import exec from 'k6/execution';
import { Connection, ErrorCode, env, num, runId, seconds, summarize, targets, tokenFor, v1 } from './lib/barrage.js';

const room = env('ROOM', 'k6-red-packets');
const apiUrl = env('API_URL', targets[0]);
const apiKey = env('BARRAGE_API_KEY', '');
const grabbers = num('GRABBERS', 200);
const perVu = Math.max(1, num('CONNS_PER_VU', 50));
const shares = num('SHARES', 100);
const totalCents = num('TOTAL_CENTS', shares * 100);
const join = seconds('JOIN', '10s');
const vus = Math.ceil(grabbers / perVu);

const answerMs = new Trend('barrage_grab_answer_ms', true);
/** When each grabber had its final answer, from the common start (its max is the storm's length). */
const doneMs = new Trend('barrage_grab_done_ms', true);
const answered = new Rate('barrage_grab_answered');
const granted = new Counter('barrage_grabs_granted');
const emptied = new Counter('barrage_grabs_empty');
const retried = new Counter('barrage_grabs_retried');
const unexpected = new Counter('barrage_grab_unexpected');
const mismatch = new Counter('barrage_red_packet_mismatch');
const connected = new Rate('barrage_grabber_connected');

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  setupTimeout: '60s',
  scenarios: {
    grabbers: {
      executor: 'per-vu-iterations',
      exec: 'grabber',
      vus,
      iterations: 1,
      maxDuration: `${join + 90}s`,
      gracefulStop: '5s',
    },
  },
  thresholds: {
    barrage_grabber_connected: ['rate==1'],
    barrage_grab_answered: ['rate==1'],
    barrage_grabs_granted: [`count==${Math.min(shares, grabbers)}`],
    barrage_grab_unexpected: ['count==0'],
    barrage_red_packet_mismatch: ['count==0'],
    barrage_grab_answer_ms: [`p(99)<${num('P99_MS', 2000)}`],
  },
};

const headers = () => ({ authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' });

export function setup() {
  if (!apiKey) throw new Error('BARRAGE_API_KEY is required: the packet is opened with the site API key');
  const res = http.post(
    `${apiUrl}/api/v1/rooms/${encodeURIComponent(room)}/red-packets`,
    JSON.stringify({ sender: { id: 'k6-host', name: 'k6' }, total_cents: totalCents, count: shares, expires_s: Math.ceil(join + 120) }),
    { headers: { ...headers(), 'idempotency-key': `k6-${runId}` } },
  );
  if (res.status !== 201) throw new Error(`opening the red packet answered ${res.status}: ${res.body}`);
  return { id: res.json('id'), start: Date.now() + join * 1000 };
}

const final = new Set([
  ErrorCode.ERROR_CODE_UNSPECIFIED,
  ErrorCode.ERROR_CODE_RED_PACKET_EMPTY,
  ErrorCode.ERROR_CODE_RED_PACKET_ALREADY_GRABBED,
]);

/** One VU: CONNS_PER_VU grabbers. */
export function grabber(data) {
  const first = exec.vu.idInTest - 1;
  const frame = v1.ClientFrame.encode({ grabRedPacket: { id: data.id } }).finish();
  const bytes = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength);
  for (let i = 0; i < perVu; i++) {
    const n = first * perVu + i;
    if (n >= grabbers) return;
    let sentAt = 0;
    let done = false;
    let giveUp;
    let welcomed = false;
    const conn = new Connection(
      n,
      room,
      tokenFor(n, room, 'viewer', `k6-grab-${runId}-${n}`),
      {
        onWelcome() {
          welcomed = true;
          connected.add(1);
          setTimeout(grab, Math.max(0, data.start - Date.now()));
        },
        onFail(message) {
          if (!welcomed) connected.add(0);
          welcomed = true;
          if (!done) answered.add(0);
          done = true;
          console.warn(`grabber ${n}: ${message}`);
        },
        onPlayAnswer(a) {
          if (done) return;
          const now = Date.now();
          answerMs.add(now - sentAt);
          if (final.has(a.error)) {
            done = true;
            clearTimeout(giveUp);
            answered.add(1);
            doneMs.add(now - data.start);
            if (a.error === ErrorCode.ERROR_CODE_UNSPECIFIED) granted.add(1);
            else if (a.error === ErrorCode.ERROR_CODE_RED_PACKET_EMPTY) emptied.add(1);
            conn.close();
          } else if (a.error === ErrorCode.ERROR_CODE_UNAVAILABLE || a.error === ErrorCode.ERROR_CODE_RATE_LIMITED) {
            retried.add(1);
            setTimeout(grab, (a.retryAfterMs || 500) + Math.random() * 500);
          } else {
            done = true;
            clearTimeout(giveUp);
            answered.add(0);
            unexpected.add(1);
            console.warn(`grabber ${n}: ${a.error} ${a.message}`);
            conn.close();
          }
        },
      },
      -1,
      false,
    );
    function grab() {
      sentAt = Date.now();
      if (!conn.send(bytes) && !done) {
        done = true;
        answered.add(0);
      }
    }
    giveUp = setTimeout(
      () => {
        if (!done) {
          done = true;
          answered.add(0);
          conn.close();
        }
      },
      Math.max(0, data.start - Date.now()) + 60_000,
    );
  }
}

export function teardown(data) {
  // The grabs in pages (a reply lists at most 2,000).
  const grabs = [];
  let packet;
  for (let offset = 0; ; offset += 2000) {
    const res = http.get(`${apiUrl}/api/v1/rooms/${encodeURIComponent(room)}/red-packets/${data.id}?offset=${offset}&limit=2000`, {
      headers: headers(),
    });
    if (res.status !== 200) {
      mismatch.add(1, { what: `read ${res.status}` });
      return;
    }
    packet = res.json();
    grabs.push(...packet.grabs);
    if (packet.grabs.length < 2000) break;
  }
  const expected = Math.min(shares, grabbers);
  const users = new Set(grabs.map((g) => g.user.id));
  const sum = grabs.reduce((s, g) => s + g.amount_cents, 0);
  if (packet.grabbed !== expected || grabs.length !== expected) mismatch.add(1, { what: 'grabbed' });
  if (users.size !== grabs.length) mismatch.add(1, { what: 'user twice' });
  if (sum !== packet.grabbed_cents || (expected === shares && sum !== totalCents)) mismatch.add(1, { what: 'sum' });
}

export function handleSummary(data) {
  const done = data.metrics.barrage_grab_done_ms;
  const stormMs = done ? done.values.max : 0;
  const notes =
    stormMs > 0 ? [`grab throughput: ${Math.round((grabbers * 1000) / stormMs)} answered grabs/s over ${Math.round(stormMs)} ms`] : [];
  return summarize(`Barrage red packets: ${grabbers} grabber(s), ${shares} share(s) in room ${room}`, data, notes);
}
