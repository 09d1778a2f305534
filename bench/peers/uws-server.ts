/**
 * The ceiling: bare uWebSockets.js publishing every message the sender sends
 * to one topic that every viewer subscribes to. No validation, no batching,
 * no sequencing; the same backpressure limit as Barrage's default.
 *
 * With BATCH_MS > 0 it does the work Barrage's batcher does and nothing
 * else: messages of one window are concatenated into one frame, published
 * once — the ceiling for a batching server.
 *
 * PORT env; `/sender` is the sender, any other path a viewer.
 */
import * as uWS from 'uWebSockets.js';

interface Peer {
  sender: boolean;
}

const port = Number(process.env['PORT'] ?? 9001);
const topic = 'room';
const batchMs = Number(process.env['BATCH_MS'] ?? 0);
const pending: Buffer[] = [];
let timer: NodeJS.Timeout | undefined;

function flush(): void {
  if (pending.length === 0) {
    clearInterval(timer);
    timer = undefined;
    return;
  }
  const frame = Buffer.concat(pending);
  pending.length = 0;
  app.publish(topic, frame, true);
}

const app = uWS.App();
app.ws<Peer>('/*', {
  compression: 0,
  maxPayloadLength: 16 * 1024,
  maxBackpressure: 1 << 20,
  closeOnBackpressureLimit: false,
  idleTimeout: 120,
  upgrade: (res, req, context) => {
    res.upgrade(
      { sender: req.getUrl() === '/sender' },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    if (!ws.getUserData().sender) ws.subscribe(topic);
  },
  message: (_ws, message, isBinary) => {
    if (batchMs === 0) {
      app.publish(topic, message, isBinary);
      return;
    }
    // The message buffer is only valid during this call: copy it.
    pending.push(Buffer.from(new Uint8Array(message)));
    timer ??= setInterval(flush, batchMs);
  },
});
app.listen('127.0.0.1', port, (socket) => {
  if (!socket) {
    console.error(`uws peer: cannot listen on ${port}`);
    process.exit(1);
  }
});
