import { proxy } from "@/lib/proxy";
import { serverConfig } from "@/lib/config";

// Every /api/* path except /api/auth/* and /api/health (more specific routes)
// goes to the backend. Under an Ingress these requests never reach Next.js.
export const dynamic = "force-dynamic";

const handle = (request: Request) => proxy(request, serverConfig().backendURL);

export { handle as GET, handle as POST, handle as PATCH, handle as PUT, handle as DELETE };
