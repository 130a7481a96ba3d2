import { configProblems, DEFAULT_SHUTDOWN_TIMEOUT_MS, serverConfig } from "./config";
import { migrateAuth } from "./auth";
import { drainOnSignals } from "./lifecycle";

/**
 * SQLSTATE classes that mean "no usable connection (yet)": connection
 * exceptions (08), operator intervention such as a server starting or
 * shutting down (57), insufficient resources such as too many connections (53).
 */
const CONNECTION_SQLSTATE = /^(08|57|53)/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * Whether err means the database could not be reached or dropped the
 * connection, rather than refused a statement. Node's socket errors (ECONNREFUSED,
 * ENOTFOUND, ECONNRESET, …), pg's errors without a code ("Connection terminated
 * unexpectedly") and SQLite's busy file are; an SQL error with another SQLSTATE
 * (a syntax error, a missing permission) is not, and retrying would not help.
 */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string" || code === "") return true;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return true;
  if (SQLSTATE.test(code)) return CONNECTION_SQLSTATE.test(code);
  return /^E[A-Z_]+$/.test(code) && !code.startsWith("ERR_"); // Node's system errors, not its API errors
}

export interface RetryOptions {
  /** Give up after this long (ms). */
  deadlineMs: number;
  /** First wait between attempts (ms), doubled after each, up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
}

/** Start-up's retries: until DATABASE_START_TIMEOUT, as the backend's. */
export function startRetry(deadlineMs: number): RetryOptions {
  return { deadlineMs, firstDelayMs: 500, maxDelayMs: 1_000 };
}

/** Runs fn, retrying connection errors with exponential backoff until the deadline. */
export async function withDatabaseRetry<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const giveUpAt = Date.now() + o.deadlineMs;
  for (let delay = o.firstDelayMs; ; delay = Math.min(delay * 2, o.maxDelayMs)) {
    try {
      return await fn();
    } catch (err) {
      if (!isConnectionError(err) || Date.now() + delay > giveUpAt) throw err;
      console.warn(`todo-frontend: database not reachable yet (${(err as Error).message}), retrying in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

// Node.js start-up of the server: refuse a broken production configuration
// with one clear message, then create or update Better Auth's tables. A
// server that cannot do either exits: a half-started one would answer its
// liveness probe while every sign-in fails.
export async function startup(retry?: RetryOptions): Promise<void> {
  const cfg = serverConfig();
  const problems = configProblems(cfg);
  if (problems.length > 0) {
    console.error(`todo-frontend: invalid configuration:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  if (cfg.production && !cfg.authRateLimit) {
    console.warn("todo-frontend: AUTH_RATE_LIMIT=off: sign-in and sign-up are not rate limited");
  }
  if (process.env.NEXT_MANUAL_SIG_HANDLE) {
    drainOnSignals({ delayMs: cfg.shutdownDelayMs ?? 0, timeoutMs: cfg.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS });
  }
  try {
    await withDatabaseRetry(migrateAuth, retry ?? startRetry(cfg.databaseStartTimeoutMs ?? 0));
  } catch (err) {
    console.error(`todo-frontend: cannot prepare the auth database: ${(err as Error).message}`);
    process.exit(1);
  }
}
