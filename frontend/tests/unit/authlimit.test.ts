// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Better Auth as production runs it (its limiter on), on a throwaway SQLite file.
const dir = mkdtempSync(join(tmpdir(), "authlimit-"));
let auth: Awaited<typeof import("@/lib/auth")>;

beforeAll(async () => {
  vi.stubEnv("NODE_ENV", "production");
  vi.stubEnv("BETTER_AUTH_SECRET", "a-test-secret-that-is-long-enough-0123456789");
  vi.stubEnv("BETTER_AUTH_URL", "http://app.test");
  vi.stubEnv("DATABASE_URL", "sqlite://" + join(dir, "auth.db"));
  vi.stubEnv("AUTH_RATE_LIMIT", "");
  auth = await import("@/lib/auth");
  await auth.migrateAuth();
});

afterAll(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

const ask = (path: string, ip: string, init: RequestInit = {}) =>
  auth.getAuth().handler(new Request("http://app.test/api/auth" + path, { ...init, headers: { "x-forwarded-for": ip, ...init.headers } }));

describe("Better Auth's limiter, as the app configures it", () => {
  it("lets a client that never pauses but stays under 100 per 10 s go on for good", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) { // 2 a second for 150 s: Better Auth's own store refuses from the 101st
      const res = await ask("/get-session", "203.0.113.7");
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      vi.advanceTimersByTime(500);
    }
    expect([...statuses]).toEqual([[200, 300]]);
  });

  it("still refuses a burst of sign-ins (3 per 10 s)", async () => {
    const signIn = () =>
      ask("/sign-in/email", "198.51.100.9", {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://app.test" },
        body: JSON.stringify({ email: "nobody@example.com", password: "not-the-password" }),
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await signIn()).status);
    expect(statuses.slice(0, 3)).not.toContain(429);
    expect(statuses[3]).toBe(429);
  });
});
