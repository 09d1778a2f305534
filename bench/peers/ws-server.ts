/**
 * A `ws` server broadcasting the way its README shows: every message from
 * the sender is sent to every other open client.
 *
 * PORT env; `/sender` is the sender, any other path a viewer.
 */
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env['PORT'] ?? 9002);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 16 * 1024 });
wss.on('connection', (ws, req) => {
  if (req.url !== '/sender') return;
  ws.on('message', (data, isBinary) => {
    for (const client of wss.clients) {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    }
  });
});
