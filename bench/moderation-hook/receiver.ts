/**
 * The benchmark's moderation callback receiver, in its own process so it does
 * not share the server's or the load generator's event loop: answers every
 * danmaku `{"action":"allow"}` after `RECEIVER_DELAY_MS` (0: at once) and
 * tells its parent its port and, on request, how many danmaku it answered
 * and the most requests it had in flight at once.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const delayMs = Number(process.env['RECEIVER_DELAY_MS'] ?? '0');
let answered = 0;
let inFlight = 0;
let maxInFlight = 0;
const answer = '{"action":"allow"}';

const server = createServer((req, res) => {
  inFlight++;
  if (inFlight > maxInFlight) maxInFlight = inFlight;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    // A batch (BARRAGE_MODERATION_HOOK_BATCH > 1) is an array: one answer per danmaku, in order.
    const body = Buffer.concat(chunks);
    const count = body[0] === 0x5b ? (JSON.parse(body.toString('utf8')) as unknown[]).length : 0;
    const text = count > 0 ? `[${Array.from({ length: count }, () => answer).join(',')}]` : answer;
    const reply = (): void => {
      inFlight--;
      answered += Math.max(1, count);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
    };
    if (delayMs > 0) setTimeout(reply, delayMs);
    else reply();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on('message', (m) => {
  if (m === 'stats') process.send?.({ answered, maxInFlight });
  if (m === 'stop') server.close(() => process.exit(0));
});
