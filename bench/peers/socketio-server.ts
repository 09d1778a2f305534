/**
 * A Socket.IO server broadcasting to a room: viewers join room "r"; the
 * sender's "d" events are emitted to the room (the adapter encodes once).
 * WebSocket transport only, as the raw clients speak it; no compression.
 *
 * PORT env; the sender connects with `?sender=1`.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env['PORT'] ?? 9003);
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
io.on('connection', (socket) => {
  if (socket.handshake.query['sender'] !== '1') {
    void socket.join('r');
    return;
  }
  socket.on('d', (text: unknown) => {
    io.to('r').emit('d', text);
  });
});
http.listen(port, '127.0.0.1');
