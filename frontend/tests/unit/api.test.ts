import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError, REVALIDATE_AFTER_WRITE_MS } from "@/lib/api";
import { TokenManager } from "@/lib/token";

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

function client(responses: Response[], tokens: (string | null)[] = ["t1", "t2", "t3"], now: () => number = Date.now) {
  const seen: { url: string; auth: string | null; cacheControl: string | null; init: RequestInit }[] = [];
  const fetchImpl = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    seen.push({ url: String(url), auth: headers.get("Authorization"), cacheControl: headers.get("Cache-Control"), init: init ?? {} });
    const r = responses.shift();
    if (!r) throw new TypeError("network down");
    return r;
  });
  let i = 0;
  const tm = new TokenManager(async () => tokens[i++] ?? null);
  const onUnauthorized = vi.fn();
  return { api: new ApiClient(tm, onUnauthorized, fetchImpl as typeof fetch, now), seen, onUnauthorized };
}

describe("ApiClient", () => {
  it("sends the bearer token and decodes tasks", async () => {
    const { api, seen } = client([json(200, { tasks: [{ id: 1, title: "a" }] })]);
    expect(await api.listTasks("pending")).toEqual([{ id: 1, title: "a" }]);
    expect(seen[0]).toMatchObject({ url: "/api/tasks?status=pending", auth: "Bearer t1" });
  });

  it("asks for a listing checked against the database soon after a change of its own", async () => {
    let clock = 1_000_000;
    const listing = () => json(200, { tasks: [] });
    const { api, seen } = client([listing(), json(201, { id: 1, title: "a" }), listing(), listing(), json(200, { response: "ok" }), listing()],
      ["t1", "t2", "t3", "t4", "t5", "t6"], () => clock);
    await api.listTasks("all");
    await api.createTask("a", "");
    clock += 1_000;
    await api.listTasks("all");
    clock += REVALIDATE_AFTER_WRITE_MS;
    await api.listTasks("all");
    await api.chat("add milk", null); // its tools may change tasks
    await api.listTasks("all");
    expect(seen.filter((s) => s.url.startsWith("/api/tasks?")).map((s) => s.cacheControl)).toEqual([null, "no-cache", null, "no-cache"]);
  });

  it("retries a 401 once with a fresh token", async () => {
    const { api, seen, onUnauthorized } = client([json(401, {}), json(201, { id: 2, title: "b" })]);
    expect(await api.createTask("b", "")).toEqual({ id: 2, title: "b" });
    expect(seen.map((s) => s.auth)).toEqual(["Bearer t1", "Bearer t2"]);
    expect(onUnauthorized).not.toHaveBeenCalled();
  });

  it("sends the user to sign in after a second 401", async () => {
    const { api, onUnauthorized } = client([json(401, {}), json(401, {})]);
    await expect(api.listTasks("all")).rejects.toMatchObject({ status: 401 });
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it("sends the user to sign in when there is no session", async () => {
    const { api, onUnauthorized, seen } = client([], [null]);
    await expect(api.listTasks("all")).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledOnce();
    expect(seen).toHaveLength(0);
  });

  it("turns API errors and network failures into readable errors", async () => {
    const { api } = client([json(400, { error: { code: "validation_error", message: "title: is required" } })]);
    await expect(api.createTask("", "")).rejects.toMatchObject({ status: 400, code: "validation_error", message: "title: is required" });
    const down = client([]);
    await expect(down.api.listTasks("all")).rejects.toMatchObject({ code: "network" });
  });

  it("streams a chat reply", async () => {
    const sse =
      'event: tool_call\ndata: {"name":"add_task","arguments":{"title":"x"},"result":{"status":"created","title":"x"}}\n\n' +
      'event: token\ndata: {"text":"Added "}\n\nevent: token\ndata: {"text":"x."}\n\n' +
      'event: done\ndata: {"conversation_id":7,"response":"Added x.","tool_calls":[]}\n\n';
    const { api, seen } = client([new Response(sse, { headers: { "Content-Type": "text/event-stream" } })]);
    const tokens: string[] = [];
    const calls: string[] = [];
    const reply = await api.chat("add x", 7, { onToken: (t) => tokens.push(t), onToolCall: (c) => calls.push(c.name) });
    expect(reply.conversation_id).toBe(7);
    expect(tokens.join("")).toBe("Added x.");
    expect(calls).toEqual(["add_task"]);
    expect(JSON.parse(String(seen[0]!.init.body))).toEqual({ message: "add x", conversation_id: 7 });
  });

  it("reports a streamed error event", async () => {
    const sse = 'event: error\ndata: {"error":{"code":"assistant_unavailable","message":"the assistant is unavailable"}}\n\n';
    const { api } = client([new Response(sse, { headers: { "Content-Type": "text/event-stream" } })]);
    await expect(api.chat("hi", null)).rejects.toMatchObject({ code: "assistant_unavailable" });
  });
});
