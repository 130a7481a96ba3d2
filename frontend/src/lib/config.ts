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
  /** How long SIGTERM keeps serving, unready, before the server exits (SHUTDOWN_DELAY); null when invalid. */
  shutdownDelayMs: number | null;
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
  };
}

/** Problems that must stop a production server at start, one line each. */
export function configProblems(c: ServerConfig): string[] {
  const problems: string[] = [];
  if (c.production && !c.authSecret) {
    problems.push("BETTER_AUTH_SECRET is required in production (at least 32 random characters)");
  } else if (c.authSecret && c.authSecret.length < 32) {
    problems.push("BETTER_AUTH_SECRET must be at least 32 characters");
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
  if (c.databaseURL && !/^postgres(ql)?:\/\//.test(c.databaseURL)) {
    problems.push("DATABASE_URL must be a postgres:// or sqlite://PATH URL (or unset for the local SQLite file)");
  }
  return problems;
}
