/**
 * A raw WebSocket viewer for the multi-process plays tests: it keeps the
 * PlayAnswers and the events it is sent.
 */
import WebSocket from 'ws';
import { v1 } from '../../proto/index.js';

/** An open socket with what it received so far. */
export interface PlaySocket {
  ws: WebSocket;
  answers: v1.PlayAnswer[];
  events: v1.Event[];
}

/** Opens `url` and keeps its PlayAnswers and events. */
export async function openPlaySocket(url: string): Promise<PlaySocket> {
  const ws = new WebSocket(url);
  const answers: v1.PlayAnswer[] = [];
  const events: v1.Event[] = [];
  ws.on('message', (data: Buffer) => {
    const f = v1.ServerFrame.decode(new Uint8Array(data));
    if (f.playAnswer) answers.push(f.playAnswer as v1.PlayAnswer);
    if (f.batch) events.push(...(f.batch.events as v1.Event[]));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, answers, events };
}
