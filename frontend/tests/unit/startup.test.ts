// @vitest-environment node
import { describe, expect, it, vi } from "vitest";

vi.mock("@/lib/auth", () => ({ migrateAuth: vi.fn() }));
const { isTransientDatabaseError, withDatabaseRetry } = await import("@/lib/startup");

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe("withDatabaseRetry", () => {
  it("retries while the database is not reachable, then succeeds", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const fn = vi.fn().mockRejectedValueOnce(withCode("ECONNREFUSED")).mockRejectedValueOnce(withCode("57P03")).mockResolvedValue("ok");
    await expect(withDatabaseRetry(fn, 5, 1)).resolves.toBe("ok");
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it("fails at once on other errors, and after the last attempt", async () => {
    const syntax = vi.fn().mockRejectedValue(withCode("42601"));
    await expect(withDatabaseRetry(syntax, 5, 1)).rejects.toThrow("42601");
    expect(syntax).toHaveBeenCalledOnce();
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const down = vi.fn().mockRejectedValue(withCode("ECONNREFUSED"));
    await expect(withDatabaseRetry(down, 3, 1)).rejects.toThrow("ECONNREFUSED");
    expect(down).toHaveBeenCalledTimes(3);
  });

  it("knows transient errors", () => {
    expect(isTransientDatabaseError(withCode("ENOTFOUND"))).toBe(true);
    expect(isTransientDatabaseError(new Error("x"))).toBe(false);
    expect(isTransientDatabaseError(null)).toBe(false);
  });
});
