import { pino } from 'pino';
import type { Logger } from 'pino';

/** A structured JSON logger (pino) at `level`; tests pass `silent`. */
export function createLogger(level: string, name = 'barrage'): Logger {
  return pino({ name, level });
}
export type { Logger };
