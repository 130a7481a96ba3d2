import { getAuth } from "@/lib/auth";

export const dynamic = "force-dynamic";

const handle = (request: Request) => getAuth().handler(request);

export { handle as GET, handle as POST };
