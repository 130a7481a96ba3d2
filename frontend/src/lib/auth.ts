import { betterAuth } from "better-auth";
import { nextCookies } from "better-auth/next-js";
import { jwt } from "better-auth/plugins";
import { getMigrations } from "better-auth/db/migration";
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Pool } from "pg";
import { serverConfig } from "./config";
import { fixedWindowStorage } from "./ratelimit";

// Created on first use, never at import: `next build` must succeed with no secrets.
let instance: ReturnType<typeof createAuth> | undefined;
// Asks the auth store for an answer: what readiness checks.
let pingStore: (() => Promise<void>) | undefined;

function createAuth() {
  const cfg = serverConfig();
  // A connection that cannot be made fails within seconds, never hangs a request.
  const pool = cfg.databaseURL ? new Pool({ connectionString: cfg.databaseURL, max: 10, connectionTimeoutMillis: 5000 }) : undefined;
  const sqlite = pool ? undefined : openSQLite(cfg.sqliteFile);
  pingStore = pool
    ? async () => void (await pool.query("SELECT 1"))
    : async () => void sqlite!.prepare("SELECT 1").get();
  const database = pool ?? sqlite!;
  const issuer = cfg.authURL;
  return betterAuth({
    database,
    secret: cfg.authSecret,
    baseURL: cfg.authURL,
    trustedOrigins: cfg.trustedOrigins,
    emailAndPassword: { enabled: true, minPasswordLength: 8, autoSignIn: true },
    session: { expiresIn: 60 * 60 * 24 * 7, updateAge: 60 * 60 * 24 },
    telemetry: { enabled: false },
    rateLimit: { enabled: cfg.production && cfg.authRateLimit, customStorage: fixedWindowStorage() },
    plugins: [
      jwt({
        jwks: { keyPairConfig: { alg: "EdDSA", crv: "Ed25519" } },
        jwt: { issuer, audience: issuer, expirationTime: "15m" },
      }),
      nextCookies(),
    ],
  });
}

function openSQLite(file: string) {
  mkdirSync(dirname(file), { recursive: true }); // SQLite creates the file, not its folder
  return new Database(file);
}

export function getAuth() {
  instance ??= createAuth();
  return instance;
}

/** Resolves when the auth store answers a query; rejects with why not. */
export async function pingAuthStore(): Promise<void> {
  getAuth();
  await pingStore!();
}

// Arbitrary, fixed key of the PostgreSQL advisory lock held while migrating.
const MIGRATION_LOCK = 0x61757468; // "auth"

/**
 * Creates or updates Better Auth's tables. Idempotent; on PostgreSQL it holds
 * an advisory lock, so replicas starting together migrate one at a time.
 */
export async function migrateAuth(): Promise<void> {
  const auth = getAuth();
  const cfg = serverConfig();
  const run = async () => {
    const { runMigrations } = await getMigrations(auth.options);
    await runMigrations();
  };
  if (!cfg.databaseURL) return run();
  const lockPool = new Pool({ connectionString: cfg.databaseURL, max: 1 });
  const client = await lockPool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await run();
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
    await lockPool.end();
  }
}
