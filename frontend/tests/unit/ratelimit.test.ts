import { describe, expect, it } from "vitest";
import { fixedWindowStorage } from "@/lib/ratelimit";

const rule = { window: 10, max: 100 };

describe("fixedWindowStorage", () => {
  it("never refuses a client that stays under the limit, however long it never pauses", async () => {
    let clock = 1_000_000;
    const store = fixedWindowStorage(() => clock);
    let refused = 0;
    for (let i = 0; i < 2_000; i++) { // 2 a second for 1000 s, under 100 per 10 s
      if (!(await store.consume("1.2.3.4|/get-session", rule)).allowed) refused++;
      clock += 500;
    }
    expect(refused).toBe(0);
  });

  it("refuses past max within a window, says when to retry, and allows again in the next", async () => {
    let clock = 20_000; // a window's start
    const store = fixedWindowStorage(() => clock);
    for (let i = 0; i < 3; i++) expect((await store.consume("k", { window: 10, max: 3 })).allowed).toBe(true);
    clock += 4_000;
    expect(await store.consume("k", { window: 10, max: 3 })).toEqual({ allowed: false, retryAfter: 6 });
    expect((await store.consume("other", { window: 10, max: 3 })).allowed).toBe(true);
    clock += 6_000;
    expect((await store.consume("k", { window: 10, max: 3 })).allowed).toBe(true);
  });

  it("counts each key apart and keeps a bounded number of keys", async () => {
    let clock = 0;
    const store = fixedWindowStorage(() => clock);
    for (let i = 0; i < 100_050; i++) await store.consume(`ip-${i}|/sign-in`, { window: 10, max: 1 });
    expect(store.size).toBe(100_000);
    expect((await store.consume("ip-100049|/sign-in", { window: 10, max: 1 })).allowed).toBe(false); // the newest kept
    clock += 10_000; // the next window: the old entries are expired, and go first
    expect((await store.consume("ip-0|/sign-in", { window: 10, max: 1 })).allowed).toBe(true);
    expect((await store.consume("ip-0|/sign-in", { window: 10, max: 1 })).allowed).toBe(false);
  });
});
