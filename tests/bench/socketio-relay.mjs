// The baseline of the message benchmark (`cargo bench -p server --bench messages`): a plain socket.io
// relay that stores nothing. Each connection joins a room of its own (the `room` query parameter, as a
// visitor's sockets share a conversation); a `message` event is acknowledged at once with a sequence
// number and relayed to the room, sender included, as Beckon echoes a visitor's message to their
// sockets. It prints its address on the first line of standard output and exits when standard input
// closes, so the benchmark that started it never leaves it behind.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  // Socket.io's default: no compression, so both servers send the same bytes.
  perMessageDeflate: false,
});

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? socket.id);
  socket.join(room);
  let seq = 0;
  socket.on('message', (message, ack) => {
    seq += 1;
    if (typeof ack === 'function') {
      ack({ client_message_id: message?.client_message_id, seq });
    }
    io.to(room).emit('message', message);
  });
});

http.listen(0, '127.0.0.1', () => {
  const { port } = http.address();
  process.stdout.write(`socket.io relay listening on http://127.0.0.1:${port}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
