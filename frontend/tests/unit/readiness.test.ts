// @vitest-environment node
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drainOnSignals, isDraining, parseDelay } from "@/lib/lifecycle";

const route = "@/app/api/health/ready/route";
const readiness = async () => (await import(route)).GET();

// Loading the route (Better Auth, the database drivers) the first time takes
// seconds on a loaded machine: done once here, so that each test's time is
// its own. Each test then loads it again, cheaply, with its own environment.
beforeAll(async () => {
  await import(route);
}, 60_000);

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules(); // a new auth store for the next test's DATABASE_URL
  delete (globalThis as Record<symbol, unknown>)[Symbol.for("todo-app.frontend.draining")];
});

describe("GET /api/health/ready", () => {
  it("is ready when the auth store answers a query", async () => {
    vi.stubEnv("DATABASE_URL", "sqlite://" + join(mkdtempSync(join(tmpdir(), "ready-")), "auth.db"));
    const res = await readiness();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready" });
  });

  it("is unready, not dead, when the auth store does not answer", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.stubEnv("DATABASE_URL", "postgres://todo:pw@127.0.0.1:1/todo"); // nothing listens on port 1
    const res = await readiness();
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: "auth store unavailable" });
    const { GET: liveness } = await import("@/app/api/health/route");
    expect(liveness().status).toBe(200);
  });

  it("is unready once SIGTERM came, while the server still serves until the delay ends", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    vi.stubEnv("DATABASE_URL", "sqlite://" + join(mkdtempSync(join(tmpdir(), "ready-")), "auth.db"));
    const exit = vi.fn();
    drainOnSignals({ delayMs: 100, timeoutMs: 1000 }, exit);
    process.emit("SIGTERM");
    expect(isDraining()).toBe(true);
    expect((await readiness()).status).toBe(503);
    expect(exit).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0), { timeout: 2000 });
  });
});

describe("parseDelay", () => {
  it.each([
    ["10s", 10_000],
    ["1.5s", 1500],
    ["500ms", 500],
    ["2m", 120_000],
    ["0", 0],
    ["soon", undefined],
    ["-1s", undefined],
    [undefined, undefined],
  ])("%s is %s ms", (value, want) => {
    expect(parseDelay(value)).toBe(want);
  });
});
