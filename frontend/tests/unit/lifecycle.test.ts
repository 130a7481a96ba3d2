// @vitest-environment node
import { afterEach, describe, expect, it, vi } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { drainOnSignals, isDraining } from "@/lib/lifecycle";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A server whose /slow answers after slowMs, and everything else at once. */
async function serve(slowMs: number): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    if (req.url === "/slow") setTimeout(() => res.end("slow done"), slowMs);
    else res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

function get(port: number, path: string, agent?: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, agent }, (res) => {
        let body = "";
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve(body));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

afterEach(() => {
  vi.restoreAllMocks();
  delete (globalThis as Record<symbol, unknown>)[Symbol.for("todo-app.frontend.draining")];
});

describe("shutdown on SIGTERM", () => {
  it("serves through the delay, then stops accepting, closes idle connections, finishes what is in flight and exits 0", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const { server, port } = await serve(800);
    const exit = vi.fn();
    drainOnSignals({ delayMs: 300, timeoutMs: 5000 }, exit);
    const keepAlive = new http.Agent({ keepAlive: true });
    expect(await get(port, "/", keepAlive)).toBe("ok"); // leaves an idle keep-alive connection
    const slow = get(port, "/slow");
    await sleep(50);

    process.emit("SIGTERM");
    expect(isDraining()).toBe(true);
    expect(await get(port, "/")).toBe("ok"); // still served during the delay
    await sleep(400);

    await expect(get(port, "/")).rejects.toThrow(/ECONNREFUSED/);
    await vi.waitFor(() => expect(Object.keys(keepAlive.freeSockets)).toEqual([]));
    expect(exit).not.toHaveBeenCalled();
    expect(await slow).toBe("slow done");
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(0));
    expect(server.listening).toBe(false);
  });

  it("cuts what is still in flight at the timeout and exits 1", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { port } = await serve(5000);
    const exit = vi.fn();
    drainOnSignals({ delayMs: 50, timeoutMs: 300 }, exit);
    const slow = get(port, "/slow");
    await sleep(50);
    process.emit("SIGTERM");
    await expect(slow).rejects.toThrow(/socket hang up|ECONNRESET|aborted/);
    await vi.waitFor(() => expect(exit).toHaveBeenCalledWith(1));
    expect(error).toHaveBeenCalledWith(expect.stringContaining("1 request(s) still in flight after 300 ms: cut"));
  });
});
