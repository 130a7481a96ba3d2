// @vitest-environment node
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { proxy } from "@/lib/proxy";
import { GET as health } from "@/app/api/health/route";

let backend: Server;
let backendURL: string;
let last: { method?: string; url?: string; headers: IncomingMessage["headers"]; body: string };

beforeAll(async () => {
  backend = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      last = { method: req.method, url: req.url, headers: req.headers, body };
      if (req.url === "/api/stream") {
        res.writeHead(200, { "Content-Type": "text/event-stream" });
        res.write("event: token\ndata: 1\n\n");
        setTimeout(() => res.end("event: done\ndata: 2\n\n"), 50);
        return;
      }
      res.writeHead(req.url?.startsWith("/api/missing") ? 404 : 201, { "Content-Type": "application/json", "X-Request-ID": "rid-1", Connection: "close" });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
  backendURL = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
});

afterAll(() => backend.close());

describe("GET /api/health", () => {
  it("answers ok without touching anything else", async () => {
    const res = health();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});

describe("proxy to the backend", () => {
  it("forwards method, path, query, body and auth, and returns the backend's answer", async () => {
    const req = new Request("http://app.test/api/tasks?status=pending", {
      method: "POST",
      headers: { Authorization: "Bearer tok", "Content-Type": "application/json", Connection: "keep-alive" },
      body: JSON.stringify({ title: "x" }),
    });
    const res = await proxy(req, backendURL);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get("X-Request-ID")).toBe("rid-1");
    expect(res.headers.get("Connection")).toBeNull();
    expect(last).toMatchObject({ method: "POST", url: "/api/tasks?status=pending", body: '{"title":"x"}' });
    expect(last.headers.authorization).toBe("Bearer tok");
    expect(last.headers["x-forwarded-host"]).toBe("app.test");
  });

  it("passes error statuses through", async () => {
    const res = await proxy(new Request("http://app.test/api/missing"), backendURL);
    expect(res.status).toBe(404);
  });

  it("streams Server-Sent Events as they come", async () => {
    const res = await proxy(new Request("http://app.test/api/stream", { method: "POST", body: "{}" }), backendURL);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("event: token"); // before the backend finished
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toContain("event: done");
  });

  it("answers 502 in the API's error shape when the backend is down, and logs why", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await proxy(new Request("http://app.test/api/tasks"), "http://127.0.0.1:1");
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: "backend_unavailable" } });
    expect(logged).toHaveBeenCalledWith(expect.stringContaining("backend unreachable"), expect.anything());
  });
});
