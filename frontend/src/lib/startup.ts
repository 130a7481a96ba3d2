import { configProblems, serverConfig } from "./config";
import { migrateAuth } from "./auth";

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
  await migrateAuth();
}
