/** Errors of the edge. Bad client input never becomes one of these: it becomes an Error frame or a close. */
import { BarrageError } from '../domain/errors.js';

/** Stable codes of edge errors. */
export const EdgeErrorCode = {
  Listen: 'LISTEN',
} as const;
export type EdgeErrorCode = (typeof EdgeErrorCode)[keyof typeof EdgeErrorCode];

/** The edge could not bind its port. */
export class ListenError extends BarrageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(EdgeErrorCode.Listen, message, options);
    this.name = 'ListenError';
  }
}
