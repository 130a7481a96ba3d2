// Keeps a Better Auth JWT for the backend, fetching a new one shortly before
// the current one expires. Concurrent callers share one fetch.

export type FetchToken = () => Promise<string | null>;

/** Seconds before expiry when a token is replaced. */
export const REFRESH_MARGIN_S = 60;

export function tokenExpiry(token: string): number | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    return typeof json.exp === "number" ? json.exp : null;
  } catch {
    return null;
  }
}

export class TokenManager {
  private token: string | null = null;
  private pending: Promise<string | null> | null = null;

  constructor(
    private readonly fetchToken: FetchToken,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {}

  /** A token valid for at least REFRESH_MARGIN_S more seconds, or null when signed out. */
  async get(): Promise<string | null> {
    if (this.token) {
      const exp = tokenExpiry(this.token);
      if (exp !== null && exp - this.now() > REFRESH_MARGIN_S) return this.token;
    }
    this.pending ??= this.fetchToken()
      .then((t) => (this.token = t))
      .finally(() => (this.pending = null));
    return this.pending;
  }

  /** Forget the token, e.g. after the backend refused it. */
  invalidate(): void {
    this.token = null;
  }
}
