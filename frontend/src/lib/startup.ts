import { configProblems, serverConfig } from "./config";
import { migrateAuth } from "./auth";

// Node.js start-up of the server: refuse a broken production configuration
// with one clear message, then create or update Better Auth's tables.
export async function startup(): Promise<void> {
  const problems = configProblems(serverConfig());
  if (problems.length > 0) {
    console.error(`todo-frontend: invalid configuration:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  await migrateAuth();
}
