/** Where the cache reports what it cannot throw (L2 and bus failures, dropped entries). */
export interface Logger {
  debug(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

const noop = (): void => {};

/** Silent below warn: per-call failures are logged at debug, state changes at warn. */
export const defaultLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (message, details) => console.warn(`[authcache] ${message}`, details ?? ""),
  error: (message, details) => console.error(`[authcache] ${message}`, details ?? ""),
};

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
