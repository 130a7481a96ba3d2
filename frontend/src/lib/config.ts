// Server-side configuration, read from the environment at run time (never at build time).

export interface ServerConfig {
  backendURL: string;
  authSecret: string | undefined;
  authURL: string | undefined;
  databaseURL: string | undefined;
  trustedOrigins: string[];
  production: boolean;
  /** Better Auth's per-client rate limit (production only); on unless AUTH_RATE_LIMIT=off. */
  authRateLimit: boolean;
}

export function serverConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  return {
    backendURL: (env.BACKEND_URL || "http://localhost:8000").replace(/\/+$/, ""),
    authSecret: env.BETTER_AUTH_SECRET || undefined,
    authURL: env.BETTER_AUTH_URL || undefined,
    databaseURL: env.DATABASE_URL || undefined,
    trustedOrigins: (env.TRUSTED_ORIGINS || "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    production: env.NODE_ENV === "production",
    authRateLimit: env.AUTH_RATE_LIMIT !== "off",
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
  if (c.databaseURL && !/^postgres(ql)?:\/\//.test(c.databaseURL)) {
    problems.push("DATABASE_URL must be a postgres:// URL (or unset for the local SQLite file)");
  }
  return problems;
}
