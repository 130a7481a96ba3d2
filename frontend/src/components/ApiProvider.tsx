"use client";
import { createContext, useContext, useMemo, type ReactNode } from "react";
import { useRouter } from "next/navigation";
import { ApiClient } from "@/lib/api";
import { TokenManager } from "@/lib/token";
import { authClient } from "@/lib/auth-client";

const ApiContext = createContext<ApiClient | null>(null);

async function fetchToken(): Promise<string | null> {
  const res = await fetch("/api/auth/token", { credentials: "same-origin" });
  if (!res.ok) return null;
  const body = (await res.json()) as { token?: string };
  return body.token ?? null;
}

export function ApiProvider({ children, client }: { children: ReactNode; client?: ApiClient }) {
  const router = useRouter();
  const api = useMemo(
    () =>
      client ??
      new ApiClient(new TokenManager(fetchToken), () => {
        // Drafts are kept in sessionStorage, so nothing typed is lost on the way.
        router.replace("/login?expired=1");
      }),
    [client, router],
  );
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside <ApiProvider>");
  return api;
}

export function SignOutButton() {
  const router = useRouter();
  return (
    <button
      type="button"
      className="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
      onClick={async () => {
        await authClient.signOut();
        router.replace("/login");
        router.refresh();
      }}
    >
      Sign out
    </button>
  );
}
