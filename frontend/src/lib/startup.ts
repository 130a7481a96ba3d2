import { configProblems, serverConfig } from "./config";
import { migrateAuth } from "./auth";

// Errors that mean "the database is not up yet": in Kubernetes and compose the
// frontend may start before PostgreSQL accepts connections.
const TRANSIENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "57P03"]);

export function isTransientDatabaseError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && TRANSIENT.has(code);
}

/** Runs fn, retrying transient database errors every delayMs, attempts times at most. */
export async function withDatabaseRetry<T>(fn: () => Promise<T>, attempts = 30, delayMs = 2000): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isTransientDatabaseError(err)) throw err;
      console.warn(`todo-frontend: database not reachable yet (${(err as Error).message}), retrying`);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

// Node.js start-up of the server: refuse a broken production configuration
// with one clear message, then create or update Better Auth's tables.
export async function startup(): Promise<void> {
  const cfg = serverConfig();
  const problems = configProblems(cfg);
  if (problems.length > 0) {
    console.error(`todo-frontend: invalid configuration:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  if (cfg.production && !cfg.authRateLimit) {
    console.warn("todo-frontend: AUTH_RATE_LIMIT=off: sign-in and sign-up are not rate limited");
  }
  await withDatabaseRetry(migrateAuth);
}
