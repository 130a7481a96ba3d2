import { pingAuthStore } from "@/lib/auth";
import { isDraining } from "@/lib/lifecycle";

// Readiness of the frontend: it can sign users in (its auth store answers)
// and is not shutting down. Liveness (/api/health) checks neither: a slow
// database must take the pod out of rotation, not restart it.
export const dynamic = "force-dynamic";

export async function GET() {
  if (isDraining()) return Response.json({ status: "shutting down" }, { status: 503 });
  try {
    await pingAuthStore();
  } catch (err) {
    console.warn(`todo-frontend: not ready: auth store: ${(err as Error).message}`);
    return Response.json({ status: "auth store unavailable" }, { status: 503 });
  }
  return Response.json({ status: "ready" });
}
