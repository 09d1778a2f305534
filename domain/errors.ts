/**
 * Errors raised by core. Each has a stable `code` that callers switch on and
 * that the HTTP API and logs print as is.
 */

/** Stable error codes of core. */
export const CoreErrorCode = {
  Config: 'CONFIG',
  Token: 'TOKEN',
  TokenExpired: 'TOKEN_EXPIRED',
  TokenRoom: 'TOKEN_ROOM',
  BusClosed: 'BUS_CLOSED',
  BusTimeout: 'BUS_TIMEOUT',
  NoResponder: 'NO_RESPONDER',
} as const;
export type CoreErrorCode = (typeof CoreErrorCode)[keyof typeof CoreErrorCode];

/** Base class of every error core throws on purpose. */
export class BarrageError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BarrageError';
    this.code = code;
  }
}

/** Configuration that cannot work; thrown at start, never later. */
export class ConfigError extends BarrageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(CoreErrorCode.Config, message, options);
    this.name = 'ConfigError';
  }
}

/** A token that was missing, malformed, badly signed, expired or for another room. */
export class TokenError extends BarrageError {
  constructor(
    code: typeof CoreErrorCode.Token | typeof CoreErrorCode.TokenExpired | typeof CoreErrorCode.TokenRoom,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'TokenError';
  }
}

/** The bus could not carry a message (closed, timed out, nobody answering). */
export class BusError extends BarrageError {
  constructor(
    code: typeof CoreErrorCode.BusClosed | typeof CoreErrorCode.BusTimeout | typeof CoreErrorCode.NoResponder,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'BusError';
  }
}
