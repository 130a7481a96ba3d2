// @vitest-environment node
import { afterEach, describe, expect, it, vi } from "vitest";

vi.mock("@/lib/auth", () => ({ migrateAuth: vi.fn() }));
const { isConnectionError, startup, withDatabaseRetry } = await import("@/lib/startup");
const { migrateAuth } = await import("@/lib/auth");

const withCode = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
const fast = { deadlineMs: 200, firstDelayMs: 1, maxDelayMs: 4 };

describe("isConnectionError", () => {
  it.each([
    ["a refused connection", withCode("connect ECONNREFUSED 10.43.0.5:5432", "ECONNREFUSED"), true],
    ["an unknown host", withCode("getaddrinfo EAI_AGAIN postgresql", "EAI_AGAIN"), true],
    ["a reset connection", withCode("read ECONNRESET", "ECONNRESET"), true],
    ["pg's dropped connection, which has no code", withCode("Connection terminated unexpectedly"), true],
    ["a server still starting", withCode("the database system is starting up", "57P03"), true],
    ["a connection failure SQLSTATE", withCode("connection failure", "08006"), true],
    ["too many connections", withCode("too many clients", "53300"), true],
    ["a busy SQLite file", withCode("database is locked", "SQLITE_BUSY"), true],
    ["a syntax error", withCode("syntax error", "42601"), false],
    ["a missing permission", withCode("permission denied", "42501"), false],
    ["another SQLite error", withCode("unable to open", "SQLITE_CANTOPEN"), false],
    ["a Node API error", withCode("bad argument", "ERR_INVALID_ARG_TYPE"), false],
    ["no error at all", null, false],
  ])("%s: %s", (_, err, want) => {
    expect(isConnectionError(err)).toBe(want);
  });
});

describe("withDatabaseRetry", () => {
  it("retries connection errors with growing waits, then succeeds", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const fn = vi.fn()
      .mockRejectedValueOnce(withCode("connect ECONNREFUSED", "ECONNREFUSED"))
      .mockRejectedValueOnce(withCode("Connection terminated unexpectedly"))
      .mockRejectedValueOnce(withCode("starting up", "57P03"))
      .mockResolvedValue("ok");
    await expect(withDatabaseRetry(fn, fast)).resolves.toBe("ok");
    expect(fn).toHaveBeenCalledTimes(4);
    expect(warn.mock.calls.map((c) => String(c[0]).match(/retrying in (\d+) ms/)?.[1])).toEqual(["1", "2", "4"]);
  });

  it("fails at once on an SQL error", async () => {
    const syntax = vi.fn().mockRejectedValue(withCode("syntax error", "42601"));
    await expect(withDatabaseRetry(syntax, fast)).rejects.toThrow("syntax error");
    expect(syntax).toHaveBeenCalledOnce();
  });

  it("gives up at the deadline with the last error", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const down = vi.fn().mockRejectedValue(withCode("connect ECONNREFUSED", "ECONNREFUSED"));
    const started = Date.now();
    await expect(withDatabaseRetry(down, fast)).rejects.toThrow("ECONNREFUSED");
    expect(Date.now() - started).toBeLessThan(fast.deadlineMs + 1000);
    expect(down.mock.calls.length).toBeGreaterThan(3);
  });
});

describe("startup", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("exits non-zero when the database stays unreachable, never lingering half-started", async () => {
    vi.stubEnv("NODE_ENV", "production");
    vi.stubEnv("BETTER_AUTH_SECRET", "x".repeat(32));
    vi.stubEnv("BETTER_AUTH_URL", "http://todo.local");
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.mocked(migrateAuth).mockRejectedValue(withCode("Connection terminated unexpectedly"));
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    await startup(fast);
    expect(exit).toHaveBeenCalledWith(1);
    expect(error.mock.calls[0]?.[0]).toContain("cannot prepare the auth database: Connection terminated unexpectedly");
  });

  it("retries until DATABASE_START_TIMEOUT, as the backend does, then exits", async () => {
    vi.stubEnv("DATABASE_START_TIMEOUT", "1s");
    vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.mocked(migrateAuth).mockReset().mockRejectedValue(withCode("connect ECONNREFUSED 10.0.0.1:5432", "ECONNREFUSED"));
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never);
    await startup();
    expect(exit).toHaveBeenCalledWith(1);
    // A try, a wait of 0.5 s, a try; a wait of 1 s more would pass the 1 s deadline (the default minute allows 14).
    expect(vi.mocked(migrateAuth).mock.calls.length).toBe(2);
  });
});
