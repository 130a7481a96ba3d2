// The server's life after SIGTERM. Kubernetes signals a pod and removes it
// from its Service's endpoints at the same time, and the Ingress controller
// and kube-proxy only stop sending it requests a few seconds later: exiting at
// once fails those requests. So the server keeps serving, answers unready,
// and exits after SHUTDOWN_DELAY. Next.js leaves the signals to this code when
// NEXT_MANUAL_SIG_HANDLE is set (the image sets it); otherwise it exits at once.

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

/**
 * On SIGTERM: start draining (readiness answers 503, requests are still
 * served), then exit after delayMs. SIGINT (Ctrl-C) exits at once.
 */
export function drainOnSignals(delayMs: number, exit: (code: number) => void = process.exit): void {
  process.once("SIGTERM", () => {
    (globalThis as Global)[DRAINING] = true;
    console.log(`todo-frontend: SIGTERM: serving, unready, for ${delayMs} ms before exiting`);
    setTimeout(() => exit(0), delayMs);
  });
  process.once("SIGINT", () => exit(0));
}
