"use client";
import { Suspense, useId, useState, type FormEvent } from "react";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { authClient } from "@/lib/auth-client";

// Reading the query string makes its Suspense boundary render only in the
// browser, so it holds the notice alone: the form itself is in the page's
// HTML, usable before the scripts arrive.
function SessionEndedNotice({ hidden }: { hidden: boolean }) {
  const params = useSearchParams();
  if (hidden || !params.get("expired")) return null;
  return (
    <p role="status" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900">
      Your session ended. Sign in again; what you typed is kept.
    </p>
  );
}

export function AuthForm({ mode }: { mode: "login" | "signup" }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const signup = mode === "signup";

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const email = String(form.get("email") ?? "").trim();
    const password = String(form.get("password") ?? "");
    const name = String(form.get("name") ?? "").trim();
    setBusy(true);
    setError(null);
    const { error } = signup
      ? await authClient.signUp.email({ email, password, name: name || email.split("@")[0]! })
      : await authClient.signIn.email({ email, password });
    setBusy(false);
    if (error) {
      setError(error.message || (signup ? "Could not create the account." : "Wrong email or password."));
      return;
    }
    router.replace("/");
    router.refresh();
  };

  const field = "rounded-md border border-slate-300 px-3 py-2 text-sm focus-visible:outline-2 focus-visible:outline-indigo-600";
  return (
    <main className="mx-auto flex min-h-screen w-full max-w-sm flex-col justify-center gap-6 p-6">
      <h1 className="text-2xl font-bold text-slate-900">{signup ? "Create your account" : "Sign in to todo-app"}</h1>
      <Suspense>
        <SessionEndedNotice hidden={error !== null} />
      </Suspense>
      {/* post: should it be submitted before the scripts run, the password stays out of the URL */}
      <form method="post" onSubmit={submit} className="flex flex-col gap-4" aria-describedby={error ? `${id}-error` : undefined}>
        {signup && (
          <div className="flex flex-col gap-1">
            <label htmlFor={`${id}-name`} className="text-sm font-medium text-slate-700">
              Name
            </label>
            <input id={`${id}-name`} name="name" autoComplete="name" className={field} />
          </div>
        )}
        <div className="flex flex-col gap-1">
          <label htmlFor={`${id}-email`} className="text-sm font-medium text-slate-700">
            Email
          </label>
          <input id={`${id}-email`} name="email" type="email" required autoComplete="email" className={field} />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={`${id}-password`} className="text-sm font-medium text-slate-700">
            Password
          </label>
          <input
            id={`${id}-password`}
            name="password"
            type="password"
            required
            minLength={8}
            autoComplete={signup ? "new-password" : "current-password"}
            aria-describedby={signup ? `${id}-pw-hint` : undefined}
            className={field}
          />
          {signup && (
            <p id={`${id}-pw-hint`} className="text-xs text-slate-500">
              At least 8 characters.
            </p>
          )}
        </div>
        {error && (
          <p id={`${id}-error`} role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
            {error}
          </p>
        )}
        <button
          type="submit"
          disabled={busy}
          className="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:opacity-60 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600"
        >
          {busy ? "Please wait…" : signup ? "Sign up" : "Sign in"}
        </button>
      </form>
      <p className="text-sm text-slate-600">
        {signup ? "Already have an account? " : "New here? "}
        <Link href={signup ? "/login" : "/signup"} className="font-medium text-indigo-700 underline">
          {signup ? "Sign in" : "Create an account"}
        </Link>
      </p>
    </main>
  );
}
