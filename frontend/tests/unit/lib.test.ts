import { describe, expect, it, vi } from "vitest";
import { describeToolCall, changesTasks } from "@/lib/toolcalls";
import { parseSSE } from "@/lib/sse";
import { TokenManager, tokenExpiry } from "@/lib/token";
import { configProblems, serverConfig } from "@/lib/config";

describe("describeToolCall", () => {
  it.each([
    [{ name: "add_task", arguments: { title: "buy milk" }, result: { task_id: 1, status: "created", title: "buy milk" } }, "Added task 'buy milk'"],
    [{ name: "complete_task", arguments: { task_id: 1 }, result: { task_id: 1, status: "completed", title: "buy milk" } }, "Completed task 'buy milk'"],
    [{ name: "delete_task", arguments: { task_id: 2 }, result: { task_id: 2, status: "deleted", title: "groceries" } }, "Deleted task 'groceries'"],
    [{ name: "update_task", arguments: { task_id: 2, title: "pay rent" }, result: { task_id: 2, status: "updated", title: "pay rent" } }, "Updated task 'pay rent'"],
    [{ name: "list_tasks", arguments: { status: "pending" }, result: { count: 3, tasks: [] } }, "Listed 3 pending tasks"],
    [{ name: "list_tasks", arguments: {}, result: { count: 1, tasks: [] } }, "Listed 1 task"],
    [{ name: "complete_task", arguments: { task_id: 9 }, result: { error: "task not found" } }, "Could not complete the task: task not found"],
  ])("%j → %s", (call, want) => {
    expect(describeToolCall(call)).toBe(want);
  });

  it("knows which calls change the list", () => {
    expect(changesTasks({ name: "add_task", arguments: {}, result: { status: "created" } })).toBe(true);
    expect(changesTasks({ name: "list_tasks", arguments: {}, result: { count: 0 } })).toBe(false);
    expect(changesTasks({ name: "delete_task", arguments: {}, result: { error: "task not found" } })).toBe(false);
  });
});

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      c.close();
    },
  });
}

describe("parseSSE", () => {
  it("reassembles events split across chunks, including multi-byte characters", async () => {
    const text = 'event: token\ndata: {"text":"héllo "}\n\nevent: done\ndata: {"ok":true}\n\n';
    const bytes = new TextEncoder().encode(text);
    // Split inside the two-byte "é" and inside the blank line.
    const cuts = [5, 29, 31, 40];
    const parts: Uint8Array[] = [];
    let prev = 0;
    for (const c of [...cuts, bytes.length]) {
      parts.push(bytes.slice(prev, c));
      prev = c;
    }
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        parts.forEach((p) => c.enqueue(p));
        c.close();
      },
    });
    const events = [];
    for await (const e of parseSSE(stream)) events.push(e);
    expect(events).toEqual([
      { event: "token", data: '{"text":"héllo "}' },
      { event: "done", data: '{"ok":true}' },
    ]);
  });

  it("handles CRLF, comments, multi-line data and a final event without a blank line", async () => {
    const events = [];
    for await (const e of parseSSE(streamOf([": keep-alive\r\n\r\ndata: a\r\ndata: b\r\n\r\nevent: x\ndata: last"]))) events.push(e);
    expect(events).toEqual([
      { event: "message", data: "a\nb" },
      { event: "x", data: "last" },
    ]);
  });
});

function jwtWithExp(exp: number): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${b64({ alg: "EdDSA" })}.${b64({ sub: "u", exp })}.sig`;
}

describe("TokenManager", () => {
  it("reuses a token until a minute before it expires, sharing one fetch", async () => {
    let now = 1000;
    const fetchToken = vi.fn(async () => jwtWithExp(now + 900));
    const tm = new TokenManager(fetchToken, () => now);
    const [a, b] = await Promise.all([tm.get(), tm.get()]);
    expect(a).toBe(b);
    expect(fetchToken).toHaveBeenCalledTimes(1);
    now += 800; // 100 s left: still fine
    expect(await tm.get()).toBe(a);
    now += 50; // 50 s left: refresh
    const c = await tm.get();
    expect(fetchToken).toHaveBeenCalledTimes(2);
    expect(tokenExpiry(c!)).toBe(now + 900);
  });

  it("fetches again after invalidate", async () => {
    const fetchToken = vi.fn(async () => jwtWithExp(Date.now() / 1000 + 900));
    const tm = new TokenManager(fetchToken);
    await tm.get();
    tm.invalidate();
    await tm.get();
    expect(fetchToken).toHaveBeenCalledTimes(2);
  });
});

describe("configProblems", () => {
  it("accepts a development setup with nothing configured", () => {
    expect(configProblems(serverConfig({ NODE_ENV: "development" }))).toEqual([]);
  });
  it("requires the secret and URL in production, and checks formats", () => {
    const problems = configProblems(serverConfig({ NODE_ENV: "production", BACKEND_URL: "backend:8000", DATABASE_URL: "mysql://x" }));
    expect(problems.join("\n")).toMatch(/BETTER_AUTH_SECRET is required/);
    expect(problems.join("\n")).toMatch(/BETTER_AUTH_URL is required/);
    expect(problems.join("\n")).toMatch(/BACKEND_URL must be an http/);
    expect(problems.join("\n")).toMatch(/DATABASE_URL must be a postgres/);
  });
  it("rejects a short secret", () => {
    expect(configProblems(serverConfig({ NODE_ENV: "development", BETTER_AUTH_SECRET: "short" }))).toEqual([
      "BETTER_AUTH_SECRET must be at least 32 characters",
    ]);
  });
  it.each([
    [undefined, undefined, "data/auth.db"],
    ["sqlite:///var/lib/todo/auth.db", undefined, "/var/lib/todo/auth.db"],
    ["sqlite://auth.db", undefined, "auth.db"],
    ["postgres://u:p@db/todo", "postgres://u:p@db/todo", "data/auth.db"],
  ])("DATABASE_URL=%s uses PostgreSQL %s or the SQLite file %s", (url, pg, file) => {
    const cfg = serverConfig({ DATABASE_URL: url });
    expect([cfg.databaseURL, cfg.sqliteFile]).toEqual([pg, file]);
    expect(configProblems(cfg)).toEqual([]);
  });
  it("reads SHUTDOWN_DELAY, refusing what is not a duration", () => {
    expect(serverConfig({}).shutdownDelayMs).toBe(0);
    expect(serverConfig({ SHUTDOWN_DELAY: "10s" }).shutdownDelayMs).toBe(10_000);
    expect(configProblems(serverConfig({ SHUTDOWN_DELAY: "soon" }))).toEqual(["SHUTDOWN_DELAY must be a duration like 10s or 500ms"]);
  });
  it("reads SHUTDOWN_TIMEOUT, 15 s unless set, refusing what is not a positive duration", () => {
    expect(serverConfig({}).shutdownTimeoutMs).toBe(15_000);
    expect(serverConfig({ SHUTDOWN_TIMEOUT: "20s" }).shutdownTimeoutMs).toBe(20_000);
    for (const bad of ["0", "later"]) {
      expect(configProblems(serverConfig({ SHUTDOWN_TIMEOUT: bad }))).toEqual(["SHUTDOWN_TIMEOUT must be a positive duration like 15s"]);
    }
  });
  it.each(["change-me-to-at-least-32-random-characters", "CHANGEME-changeme-changeme-changeme!", "your-secret-here-your-secret-here-00"])(
    "refuses the placeholder %s in production, where it would sign real sessions",
    (secret) => {
      const env = { NODE_ENV: "production", BETTER_AUTH_URL: "https://todo.example.com", BETTER_AUTH_SECRET: secret };
      expect(configProblems(serverConfig(env))).toEqual([
        "BETTER_AUTH_SECRET is a placeholder, known to everyone: generate one (openssl rand -hex 32)",
      ]);
      expect(configProblems(serverConfig({ ...env, BETTER_AUTH_SECRET: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }))).toEqual([]);
    },
  );
  it("reads DATABASE_START_TIMEOUT as the backend does, refusing what is not a positive duration", () => {
    expect(serverConfig({}).databaseStartTimeoutMs).toBe(60_000);
    expect(serverConfig({ DATABASE_START_TIMEOUT: "2m" }).databaseStartTimeoutMs).toBe(120_000);
    for (const bad of ["0s", "forever"]) {
      expect(configProblems(serverConfig({ DATABASE_START_TIMEOUT: bad }))).toEqual(["DATABASE_START_TIMEOUT must be a positive duration like 60s"]);
    }
  });
  it("defaults BACKEND_URL to localhost:8000", () => {
    expect(serverConfig({}).backendURL).toBe("http://localhost:8000");
  });
});
