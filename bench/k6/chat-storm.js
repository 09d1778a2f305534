// chat-storm.js: many senders in one room at a set danmaku rate, some above
// the per-connection limit and some below it, checking that the rate limiter
// answers as documented:
//   - a connection above the limit gets no more accepted than its token
//     bucket allows (burst + rate x time), and is told: RATE_LIMITED (10) with
//     retry_after_ms, at most one such error per second;
//   - the limiter does not starve it either (it gets about what the bucket allows);
//   - a connection under the limit gets every danmaku accepted and no error.
// "Accepted" means the danmaku came back in the room's batches (every sender
// is also a viewer of the room).
//
//   k6 run -e BARRAGE_URL=http://edge:8080 -e BARRAGE_SECRET=... -e SENDERS=200 -e RATE=5 bench/k6/chat-storm.js
//
// Environment (defaults in brackets):
//   BARRAGE_URL, BARRAGE_SECRET (or TOKENS / TOKENS_FILE), ROOM [k6-storm]: as in viewers.js
//   SENDERS          connections sending above the limit [20]
//   RATE             danmaku per second each of them offers [5]
//   POLITE_SENDERS   connections sending under the limit [5]
//   POLITE_RATE      danmaku per second each of those offers [1]
//   DURATION         how long they send [20s]
//   CONNS_PER_VU     connections one k6 VU holds [20]
//   P99_MS           threshold: p99 latency from the sender's send time to its echo [250]
//   METRICS_URL      edges' /metrics (comma-separated) to compare the server's
//                    barrage_rate_limited_total{limit="danmaku"} with what k6 saw refused
//   SUMMARY_JSON     also write the k6 summary as JSON to this path
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import { setTimeout, setInterval, clearInterval } from 'k6/timers';
import exec from 'k6/execution';
import {
  Connection,
  ErrorCode,
  env,
  list,
  num,
  promValue,
  runId,
  seconds,
  stampId,
  stampSender,
  stampTime,
  summarize,
  tokenFor,
} from './lib/barrage.js';

const room = env('ROOM', 'k6-storm');
const senders = num('SENDERS', 20);
const rate = num('RATE', 5);
const polite = num('POLITE_SENDERS', 5);
const politeRate = num('POLITE_RATE', 1);
const duration = seconds('DURATION', '20s');
const perVu = Math.max(1, num('CONNS_PER_VU', 20));
const metricsUrls = list('METRICS_URL', []);
const total = senders + polite;
/** Time after the last send to wait for echoes. */
const settleMs = 1500;

const sent = new Counter('barrage_danmaku_sent');
const accepted = new Counter('barrage_danmaku_accepted');
const refused = new Counter('barrage_danmaku_refused');
const rateErrors = new Counter('barrage_rate_limited_errors');
const overLimit = new Counter('barrage_accepted_over_limit');
const errorsTooOften = new Counter('barrage_rate_errors_too_often');
const answered = new Rate('barrage_rate_limit_answered');
const notStarved = new Rate('barrage_limiter_not_starving');
const politeComplete = new Rate('barrage_polite_all_accepted');
const politeLimited = new Counter('barrage_polite_rate_limited');
const otherErrors = new Counter('barrage_other_errors');
const echoMs = new Trend('barrage_e2e_ms', true);
const serverRefused = new Counter('barrage_server_rate_limited');

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  scenarios: {
    storm: {
      executor: 'per-vu-iterations',
      exec: 'storm',
      vus: Math.ceil(total / perVu),
      iterations: 1,
      maxDuration: `${duration + 15}s`,
      gracefulStop: '5s',
    },
  },
  thresholds: {
    barrage_accepted_over_limit: ['count==0'],
    barrage_rate_errors_too_often: ['count==0'],
    ...(senders > 0 ? { barrage_rate_limit_answered: ['rate==1'], barrage_limiter_not_starving: ['rate==1'] } : {}),
    ...(polite > 0 ? { barrage_polite_all_accepted: ['rate==1'], barrage_polite_rate_limited: ['count==0'] } : {}),
    barrage_other_errors: ['count==0'],
    barrage_e2e_ms: [`p(99)<${num('P99_MS', 250)}`],
  },
};

function serverCount() {
  let sum = 0;
  for (const url of metricsUrls) {
    const res = http.get(url, { tags: { name: 'metrics' } });
    if (res.status === 200) sum += promValue(res.body, 'barrage_rate_limited_total{limit="danmaku"}');
  }
  return sum;
}

export function setup() {
  return { start: Date.now() + 1000, server: serverCount() };
}

export function teardown(data) {
  if (metricsUrls.length > 0) serverRefused.add(serverCount() - data.server);
}

/** One VU: CONNS_PER_VU senders; the first SENDERS of all are over the limit, the rest polite. */
export function storm(data) {
  const first = exec.scenario.iterationInTest * perVu;
  for (let i = 0; i < perVu && first + i < total; i++) startSender(first + i, data.start);
}

function startSender(n, start) {
  const greedy = n < senders;
  const perSecond = greedy ? rate : politeRate;
  const name = `c${runId}x${n}`;
  const stopAt = start + duration * 1000;
  const state = { sent: 0, accepted: 0, errors: 0, firstSend: 0, lastSend: 0, firstError: 0, lastError: 0, limits: undefined };
  let timer;
  const conn = new Connection(n, room, tokenFor(n, room, 'viewer', name), {
    onWelcome(w) {
      state.limits = w.limits;
      // Everyone starts together, so the storm is a storm.
      setTimeout(
        () => {
          timer = setInterval(() => {
            if (Date.now() >= stopAt) {
              clearInterval(timer);
              setTimeout(() => conn.close(), settleMs);
              return;
            }
            const now = Date.now();
            if (!conn.sendDanmaku(`storm ${state.sent}`, stampId(name, state.sent))) return;
            if (!state.firstSend) state.firstSend = now;
            state.lastSend = now;
            state.sent++;
            sent.add(1);
          }, 1000 / perSecond);
        },
        Math.max(0, start - Date.now()),
      );
    },
    onEvents(events, batch) {
      if (batch.history) return;
      const now = Date.now();
      for (const ev of events) {
        if (ev.kind !== 'danmaku') continue;
        const id = ev.danmaku.clientMsgId || '';
        if (stampSender(id) !== name) continue;
        state.accepted++;
        accepted.add(1);
        echoMs.add(now - stampTime(id));
      }
    },
    onError(err) {
      if (err.code !== ErrorCode.ERROR_CODE_RATE_LIMITED) {
        otherErrors.add(1, { code: String(err.code) });
        return;
      }
      const now = Date.now();
      rateErrors.add(1);
      if (!greedy) politeLimited.add(1);
      if (!(err.retryAfterMs > 0) || stampSender(err.clientMsgId || '') !== name) otherErrors.add(1, { code: 'bad_rate_limited' });
      if (!state.firstError) state.firstError = now;
      state.lastError = now;
      state.errors++;
    },
    onFail(message) {
      otherErrors.add(1, { code: 'connect' });
      console.warn(`sender ${n}: ${message}`);
    },
    onClose() {
      if (timer) clearInterval(timer);
      judge(greedy, state);
    },
  });
}

/** Checks one sender's numbers against its token bucket once it has stopped. */
function judge(greedy, s) {
  if (!s.limits || s.sent === 0) return;
  refused.add(s.sent - s.accepted);
  const window = (s.lastSend - s.firstSend) / 1000;
  // What the bucket allows over the sending window; one extra for timing at the edges.
  const allowed = s.limits.danmakuBurst + s.limits.danmakuPerSecond * window + 1;
  if (s.accepted > allowed) overLimit.add(s.accepted - allowed);
  if (greedy) {
    const offeredOver = perSecondOf(s) > s.limits.danmakuPerSecond;
    if (offeredOver) answered.add(s.errors > 0);
    // At most one RATE_LIMITED per second (one more for where the windows fall).
    const errorWindow = (s.lastError - s.firstError) / 1000;
    if (s.errors > Math.floor(errorWindow) + 2) errorsTooOften.add(s.errors - Math.floor(errorWindow) - 2);
    // Not starved: at least 80 % of what the bucket allows (or all that was sent).
    notStarved.add(s.accepted >= Math.min(s.sent, Math.floor(0.8 * (allowed - 1))));
  } else {
    politeComplete.add(s.accepted === s.sent);
  }
}

function perSecondOf(s) {
  const window = (s.lastSend - s.firstSend) / 1000;
  return window > 0 ? (s.sent - 1) / window : 0;
}

export function handleSummary(data) {
  const m = (name) => (data.metrics[name] ? data.metrics[name].values.count : 0);
  const notes = [];
  if (metricsUrls.length > 0) {
    const server = m('barrage_server_rate_limited');
    const client = m('barrage_danmaku_refused');
    notes.push(
      `server counted ${server} danmaku refused by the limiter; k6 saw ${client} not accepted (${server === client ? 'equal' : 'DIFFERENT'})`,
    );
  }
  return summarize(
    `Barrage chat storm: ${senders} sender(s) at ${rate}/s and ${polite} at ${politeRate}/s into room ${room} for ${duration}s`,
    data,
    notes,
  );
}
