// gifts.js: the site's backend posting gifts over HTTP under load, each with
// an Idempotency-Key, a share of them retried with the same key (as a backend
// does after a timeout), while watchers in the room count the Gift events.
// Checks that none is lost and none is doubled: every watcher sees each gift
// exactly once, and a retry answers what the first post answered.
//
// Written against the HTTP API of issue 5 (docs/api.md once it lands):
//   POST /api/v1/rooms/:room/gifts
//   Authorization: Bearer <BARRAGE_API_KEY>
//   Idempotency-Key: <key>
//   body (JSON): {"user":{"id","name"},"gift","count"} (docs/api.md); override with GIFT_BODY
// and assumes the delivered Gift event's `id` is the idempotency key (the
// proto says "idempotency key or receipt id").
//
//   k6 run -e BARRAGE_URL=http://lb:8080 -e BARRAGE_SECRET=... -e BARRAGE_API_KEY=... -e GIFTS=10000 bench/k6/gifts.js
//
// Environment (defaults in brackets):
//   BARRAGE_URL, BARRAGE_SECRET (or TOKENS / TOKENS_FILE), ROOM [k6-gifts]: as in viewers.js
//   API_URL          where the HTTP API is, if not the first BARRAGE_URL
//   BARRAGE_API_KEY  the API key (required)
//   GIFTS            gifts to post, each with its own key [1000]
//   RATE             gifts posted per second [100]
//   RETRY_RATIO      share of gifts posted a second time with the same key [0.1]
//   GIFT_ID          catalogue id to send [rose]
//   GIFT_BODY        JSON body template; {user}, {name}, {gift} are replaced
//   WATCHERS         viewer connections counting the Gift events [2]
//   SETTLE           time after the last post for the events to arrive [3s]
//   P95_MS           threshold: p95 of the POST latency [500]
//   DELIVERY_P99_MS  threshold: p99 from the Gift event's ts_ms to a watcher [1000]
//   SUMMARY_JSON     also write the k6 summary as JSON to this path
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';
import exec from 'k6/execution';
import { Connection, env, num, runId, seconds, summarize, targets, tokenFor } from './lib/barrage.js';

const room = env('ROOM', 'k6-gifts');
const apiUrl = env('API_URL', targets[0]);
const apiKey = env('BARRAGE_API_KEY', '');
const gifts = num('GIFTS', 1000);
const rate = num('RATE', 100);
const retryRatio = num('RETRY_RATIO', 0.1);
const giftId = env('GIFT_ID', 'flower');
const bodyTemplate = env('GIFT_BODY', '{"user":{"id":"{user}","name":"{name}"},"gift":"{gift}","count":1}');
const watchers = num('WATCHERS', 2);
const settle = seconds('SETTLE', '3s');
const postSeconds = Math.ceil(gifts / rate);
// Every VU evaluates this file on its own, so anything run-wide (the key
// prefix) is made once in setup() and handed to every VU in `data`.
/** A gift posted with Idempotency-Key K is delivered with id `k:K`. */
const idPrefixOf = (keyPrefix) => `k:${keyPrefix}`;

const posted = new Counter('barrage_gifts_posted');
const postOk = new Rate('barrage_gift_post_ok');
const replayOk = new Rate('barrage_gift_replay_same');
const lost = new Counter('barrage_gifts_lost');
const doubled = new Counter('barrage_gifts_doubled');
const seen = new Counter('barrage_gifts_seen');
const deliveryMs = new Trend('barrage_gift_delivery_ms', true);
const watcherOk = new Rate('barrage_watcher_connected');

export const options = {
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  scenarios: {
    watchers: {
      executor: 'per-vu-iterations',
      exec: 'watcher',
      vus: watchers,
      iterations: 1,
      maxDuration: `${postSeconds + settle + 20}s`,
      gracefulStop: '5s',
    },
    gifts: {
      executor: 'constant-arrival-rate',
      exec: 'gift',
      rate,
      timeUnit: '1s',
      duration: `${postSeconds}s`,
      preAllocatedVUs: Math.min(200, Math.max(2, Math.ceil(rate / 10))),
      maxVUs: Math.max(10, Math.ceil(rate)),
      // Watchers first: a gift must not happen before anyone is there to count it.
      startTime: '2s',
    },
  },
  thresholds: {
    barrage_watcher_connected: ['rate==1'],
    barrage_gift_post_ok: ['rate==1'],
    barrage_gift_replay_same: ['rate==1'],
    barrage_gifts_lost: ['count==0'],
    barrage_gifts_doubled: ['count==0'],
    http_req_duration: [`p(95)<${num('P95_MS', 500)}`],
    barrage_gift_delivery_ms: [`p(99)<${num('DELIVERY_P99_MS', 1000)}`],
  },
};

export function setup() {
  if (!apiKey) throw new Error('BARRAGE_API_KEY is required: gifts are posted with the site API key');
  return { start: Date.now(), keyPrefix: `k6-${runId}-` };
}

function post(key, n) {
  const user = `k6-gifter-${n % 100}`;
  const body = bodyTemplate
    .replace(/\{user\}/g, user)
    .replace(/\{name\}/g, user)
    .replace(/\{gift\}/g, giftId);
  return http.post(`${apiUrl}/api/v1/rooms/${encodeURIComponent(room)}/gifts`, body, {
    headers: { authorization: `Bearer ${apiKey}`, 'idempotency-key': key, 'content-type': 'application/json' },
    tags: { name: 'POST /api/v1/rooms/:room/gifts' },
  });
}

/** One gift: key number = the iteration number, so watchers know every key there should be. */
export function gift(data) {
  const n = exec.scenario.iterationInTest;
  if (n >= gifts) return;
  const key = data.keyPrefix + n;
  const first = post(key, n);
  const ok = first.status >= 200 && first.status < 300;
  postOk.add(ok);
  posted.add(1);
  if (ok && Math.random() < retryRatio) {
    // A retry answers 200 with the first result: the same seq, marked duplicate.
    const again = post(key, n);
    replayOk.add(again.status === 200 && again.json('duplicate') === true && again.json('seq') === first.json('seq'));
  }
}

/** One watcher: counts each gift of this run once; at the end, what is missing or doubled. */
export function watcher(data) {
  const counts = new Map();
  const idPrefix = idPrefixOf(data.keyPrefix);
  const end = data.start + (2 + postSeconds + settle) * 1000;
  const n = exec.scenario.iterationInTest;
  let welcomed = false;
  const conn = new Connection(n, room, tokenFor(n, room, 'viewer', `k6-watch-${runId}-${n}`), {
    onWelcome() {
      welcomed = true;
      watcherOk.add(1);
    },
    onFail(message) {
      if (!welcomed) watcherOk.add(0);
      welcomed = true;
      console.warn(`watcher ${n}: ${message}`);
    },
    onEvents(events, batch) {
      const now = Date.now();
      for (const ev of events) {
        if (ev.kind !== 'gift' || !(ev.gift.id || '').startsWith(idPrefix)) continue;
        counts.set(ev.gift.id, (counts.get(ev.gift.id) || 0) + 1);
        seen.add(1);
        if (!batch.history) deliveryMs.add(now - ev.tsMs);
      }
    },
    onClose() {
      let missing = 0;
      let extra = 0;
      for (let i = 0; i < gifts; i++) {
        const c = counts.get(idPrefix + i) || 0;
        if (c === 0) missing++;
        else if (c > 1) extra += c - 1;
      }
      lost.add(missing);
      doubled.add(extra);
    },
  });
  setTimeout(() => conn.close(), Math.max(0, end - Date.now()));
}

export function handleSummary(data) {
  return summarize(
    `Barrage gifts: ${gifts} gift(s) at ${rate}/s into room ${room}, ${retryRatio * 100} % retried, ${watchers} watcher(s)`,
    data,
  );
}
