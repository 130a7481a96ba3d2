// Server-side configuration, read from the environment at run time (never at build time).
import { parseDelay } from "./lifecycle";

export interface ServerConfig {
  backendURL: string;
  authSecret: string | undefined;
  authURL: string | undefined;
  /** PostgreSQL's URL, or undefined for the embedded SQLite file. */
  databaseURL: string | undefined;
  /** The SQLite file used when no PostgreSQL is configured. */
  sqliteFile: string;
  trustedOrigins: string[];
  production: boolean;
  /** Better Auth's per-client rate limit (production only); on unless AUTH_RATE_LIMIT=off. */
  authRateLimit: boolean;
  /** How long SIGTERM keeps serving, unready, before the server stops accepting (SHUTDOWN_DELAY); null when invalid. */
  shutdownDelayMs: number | null;
  /** How long requests in flight then have to finish (SHUTDOWN_TIMEOUT); null when invalid. */
  shutdownTimeoutMs: number | null;
  /** How long start-up retries an unreachable database before it exits (DATABASE_START_TIMEOUT); null when invalid. */
  databaseStartTimeoutMs: number | null;
}

/** DATABASE_START_TIMEOUT's default, as the backend's. */
export const DEFAULT_DATABASE_START_TIMEOUT_MS = 60_000;

/** SHUTDOWN_TIMEOUT's default, as the backend's. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 15_000;

/**
 * Values that stand in for a secret in examples and templates: whoever runs
 * with one runs with a secret the world knows.
 */
const PLACEHOLDER = /change-?me|replace-?me|your[-_ ]?secret|^(secret|password|example)$/i;

export function isPlaceholder(secret: string): boolean {
  return PLACEHOLDER.test(secret);
}

/**
 * Where the auth store lives without a DATABASE_URL, relative to the working
 * directory: a folder of its own, so that an image can make only it writable.
 */
export const DEFAULT_SQLITE_FILE = "data/auth.db";

export function serverConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const databaseURL = env.DATABASE_URL || "";
  const sqlite = databaseURL === "" || databaseURL.startsWith("sqlite://");
  return {
    backendURL: (env.BACKEND_URL || "http://localhost:8000").replace(/\/+$/, ""),
    authSecret: env.BETTER_AUTH_SECRET || undefined,
    authURL: env.BETTER_AUTH_URL || undefined,
    // The backend's convention: postgres://…, sqlite://PATH, or unset for the default file.
    databaseURL: sqlite ? undefined : databaseURL,
    sqliteFile: (sqlite && databaseURL.slice("sqlite://".length)) || DEFAULT_SQLITE_FILE,
    trustedOrigins: (env.TRUSTED_ORIGINS || "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    production: env.NODE_ENV === "production",
    authRateLimit: env.AUTH_RATE_LIMIT !== "off",
    shutdownDelayMs: env.SHUTDOWN_DELAY ? (parseDelay(env.SHUTDOWN_DELAY) ?? null) : 0,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT ? (parseDelay(env.SHUTDOWN_TIMEOUT) || null) : DEFAULT_SHUTDOWN_TIMEOUT_MS,
    databaseStartTimeoutMs: env.DATABASE_START_TIMEOUT
      ? (parseDelay(env.DATABASE_START_TIMEOUT) || null)
      : DEFAULT_DATABASE_START_TIMEOUT_MS,
  };
}

/** Problems that must stop a production server at start, one line each. */
export function configProblems(c: ServerConfig): string[] {
  const problems: string[] = [];
  if (c.production && !c.authSecret) {
    problems.push("BETTER_AUTH_SECRET is required in production (at least 32 random characters)");
  } else if (c.authSecret && c.authSecret.length < 32) {
    problems.push("BETTER_AUTH_SECRET must be at least 32 characters");
  } else if (c.production && c.authSecret && isPlaceholder(c.authSecret)) {
    problems.push("BETTER_AUTH_SECRET is a placeholder, known to everyone: generate one (openssl rand -hex 32)");
  }
  if (c.production && !c.authURL) {
    problems.push("BETTER_AUTH_URL is required in production (the public URL of the app, e.g. https://todo.example.com)");
  }
  for (const [name, value] of [
    ["BACKEND_URL", c.backendURL],
    ["BETTER_AUTH_URL", c.authURL],
  ] as const) {
    if (value && !/^https?:\/\/[^/]+/.test(value)) problems.push(`${name} must be an http(s) URL, got "${value}"`);
  }
  if (c.shutdownDelayMs === null) {
    problems.push("SHUTDOWN_DELAY must be a duration like 10s or 500ms");
  }
  if (c.shutdownTimeoutMs === null) {
    problems.push("SHUTDOWN_TIMEOUT must be a positive duration like 15s");
  }
  if (c.databaseStartTimeoutMs === null) {
    problems.push("DATABASE_START_TIMEOUT must be a positive duration like 60s");
  }
  if (c.databaseURL && !/^postgres(ql)?:\/\//.test(c.databaseURL)) {
    problems.push("DATABASE_URL must be a postgres:// or sqlite://PATH URL (or unset for the local SQLite file)");
  }
  return problems;
}
