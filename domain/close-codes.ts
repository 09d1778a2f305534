/**
 * WebSocket close codes the edge uses. The range tells a client what to do:
 *
 * - 4000-4499: reconnect, with exponential backoff and jitter.
 * - 4500-4999: do not reconnect until something changes (the user, the token
 *   or the client code); reconnecting as is will be refused again.
 *
 * 1009 (message too big) is sent for frames over four times the frame limit
 * and belongs with the "do not reconnect" group: resending the same frame
 * fails the same way. Reasons stay under the 123-byte limit.
 */
export const CloseCode = {
  /** Server shutting down or restarting: reconnect at once (with jitter), to any edge. */
  Shutdown: 4000,
  /** The connection read too slowly for too long; reconnect and resume. */
  SlowReader: 4001,
  /** Something failed on the server; reconnect with backoff. */
  Internal: 4002,
  /** The token expired; reconnect with a fresh token. */
  TokenExpired: 4003,
  /** Frames kept failing to decode: a broken client. Do not reconnect. */
  BadProtocol: 4500,
  /** Far over the frame rate limit. Do not reconnect automatically. */
  Flood: 4501,
  /** Banned from the room. */
  Banned: 4502,
  /** The room was closed by its host. */
  RoomClosed: 4503,
  /** Frame far above the frame limit. */
  TooBig: 1009,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Reasons sent with each close code (each well under 123 bytes). */
export const CloseReason: Readonly<Record<number, string>> = {
  [CloseCode.Shutdown]: 'server shutting down; reconnect elsewhere',
  [CloseCode.SlowReader]: 'connection too slow; reconnect and resume',
  [CloseCode.Internal]: 'internal error; reconnect later',
  [CloseCode.TokenExpired]: 'token expired; reconnect with a new token',
  [CloseCode.BadProtocol]: 'too many undecodable frames',
  [CloseCode.Flood]: 'frame rate far over the limit',
  [CloseCode.Banned]: 'banned from this room',
  [CloseCode.RoomClosed]: 'room closed',
  [CloseCode.TooBig]: 'frame far over the size limit',
};

/** Whether a client should reconnect after `code` (abnormal closes such as 1006 included). */
export function shouldReconnect(code: number): boolean {
  if (code >= 4000 && code <= 4499) return true;
  if (code >= 4500 && code <= 4999) return false;
  return code !== 1000 && code !== 1008 && code !== 1009;
}
