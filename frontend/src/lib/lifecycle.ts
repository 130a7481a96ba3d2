// The server's life after SIGTERM, as the backend's. Kubernetes signals a pod
// and removes it from its Service's endpoints at the same time, and the
// Ingress controller and kube-proxy only stop sending it requests a few
// seconds later: exiting at once fails those requests. So the server keeps
// serving, answers unready, for SHUTDOWN_DELAY; then it stops accepting,
// closes idle keep-alive connections, lets the requests in flight finish
// within SHUTDOWN_TIMEOUT, and exits 0 (1 if it had to cut some). Next.js
// leaves the signals to this code when NEXT_MANUAL_SIG_HANDLE is set (the
// image sets it); otherwise it stops at once, without the delay.
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage, Server, ServerResponse } from "node:http";

// Shared through globalThis: instrumentation and route handlers are separate bundles.
const DRAINING = Symbol.for("todo-app.frontend.draining");
type Global = typeof globalThis & { [DRAINING]?: boolean };

export function isDraining(): boolean {
  return (globalThis as Global)[DRAINING] === true;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as the backend writes them, in milliseconds: "10s", "1500ms", "2m", "0" (seconds without a unit); undefined when unset or invalid. */
export function parseDelay(value: string | undefined): number | undefined {
  const m = value?.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m|h)?$/);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] ?? "s"]!);
}

export interface Shutdown {
  /** How long SIGTERM keeps serving, unready, before the server stops accepting (SHUTDOWN_DELAY). */
  delayMs: number;
  /** How long requests in flight then have to finish (SHUTDOWN_TIMEOUT). */
  timeoutMs: number;
}

/** What node:http reports on its diagnostics channel as each request starts. */
interface RequestStart {
  request: IncomingMessage;
  response: ServerResponse;
  server: Server;
}

/**
 * The servers of this process and their requests in flight, learnt from
 * node:http's diagnostics channel: Next.js creates its server out of reach.
 * A server that never received a request has nothing in flight to wait for.
 */
class Requests {
  readonly servers = new Set<Server>();
  inFlight = 0;
  private stopping = false;
  private idle: (() => void) | undefined;

  constructor() {
    subscribe("http.server.request.start", (message) => this.started(message as RequestStart));
  }

  private started({ response, server }: RequestStart): void {
    this.servers.add(server);
    this.inFlight++;
    // No keep-alive once stopping: a client's next request must open a new connection, elsewhere.
    if (this.stopping) response.shouldKeepAlive = false;
    response.once("close", () => {
      this.inFlight--;
      if (this.stopping) server.closeIdleConnections();
      if (this.inFlight === 0) this.idle?.();
    });
  }

  /** Stops accepting, closes idle connections, and resolves true once no request is in flight, false at the timeout. */
  stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    for (const server of this.servers) {
      server.close();
      server.closeIdleConnections();
    }
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  /** Ends every connection, requests in flight included. */
  cut(): void {
    for (const server of this.servers) server.closeAllConnections();
  }
}

/**
 * On SIGTERM: drain (readiness answers 503, requests are still served) for
 * delayMs, then shut down gracefully within timeoutMs and exit. SIGINT
 * (Ctrl-C) exits at once.
 */
export function drainOnSignals({ delayMs, timeoutMs }: Shutdown, exit: (code: number) => void = process.exit): void {
  const requests = new Requests();
  process.once("SIGTERM", () => {
    (globalThis as Global)[DRAINING] = true;
    console.log(`todo-frontend: SIGTERM: serving, unready, for ${delayMs} ms, then up to ${timeoutMs} ms for requests in flight`);
    setTimeout(async () => {
      console.log(`todo-frontend: no longer accepting; ${requests.inFlight} request(s) in flight`);
      if (await requests.stop(timeoutMs)) {
        console.log("todo-frontend: stopped");
        exit(0);
        return;
      }
      console.error(`todo-frontend: ${requests.inFlight} request(s) still in flight after ${timeoutMs} ms: cut`);
      requests.cut();
      exit(1);
    }, delayMs);
  });
  process.once("SIGINT", () => exit(0));
}
