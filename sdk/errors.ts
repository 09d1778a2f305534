/**
 * Errors of the server SDK. An answer the API gave is a `BarrageApiError`
 * with its HTTP status and the stable `code` of `{ error: { code, message } }`;
 * no answer at all (refused, reset, timed out) is a `BarrageNetworkError`.
 * `retryable` says whether the same request (same Idempotency-Key) may be
 * sent again; the client has already retried those it could.
 */

/** The API answered with an error. */
export class BarrageApiError extends Error {
  override readonly name = 'BarrageApiError';
  /** HTTP status (400, 401, 404, 409, 413, 503, ...). */
  readonly status: number;
  /** Stable code from the body (`BAD_ROOM`, `IDEMPOTENCY_KEY_REUSED`, ...), or `HTTP_<status>` when the body had none. */
  readonly code: string;
  /** The parsed body, when it was JSON. */
  readonly body: unknown;
  /** 429, 502, 503 and 504: sending the same request again may succeed. */
  readonly retryable: boolean;

  constructor(status: number, code: string, message: string, body: unknown) {
    super(`${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.body = body;
    this.retryable = status === 429 || status === 502 || status === 503 || status === 504;
  }
}

/** No answer: the connection failed or the request timed out. */
export class BarrageNetworkError extends Error {
  override readonly name = 'BarrageNetworkError';
  /** True when the request is known not to have reached the server (connection refused). */
  readonly notSent: boolean;
  readonly retryable = true;

  constructor(message: string, options: { cause: unknown; notSent: boolean }) {
    super(message, { cause: options.cause });
    this.notSent = options.notSent;
  }
}
