/**
 * Better Auth's rate-limit storage with fixed windows. Better Auth's own
 * memory store restarts a key's window at every request it allows, so a
 * client that never pauses for a whole window is refused after `max`
 * requests however slowly it sends them (better-auth/better-auth#6035). Here
 * each key counts the requests of the current window, which starts every
 * `window` seconds on the clock, and starts again at 0 in the next.
 *
 * Counts live in this process's memory: with several replicas behind a load
 * balancer, each one counts what reaches it.
 */

type Rule = { window: number; max: number };
type Decision = { allowed: boolean; retryAfter: number | null };

/** Entries kept at most; past it, the expired go, then the oldest. */
const MAX_KEYS = 100_000;

export function fixedWindowStorage(now: () => number = () => Date.now()) {
  const counts = new Map<string, { windowEnd: number; count: number }>();
  const prune = (at: number) => {
    for (const [key, entry] of counts) if (entry.windowEnd <= at) counts.delete(key);
    for (const key of counts.keys()) {
      if (counts.size < MAX_KEYS) break;
      counts.delete(key);
    }
  };
  return {
    /** How many keys are held. */
    get size() {
      return counts.size;
    },
    async consume(key: string, rule: Rule): Promise<Decision> {
      const at = now();
      const windowMs = rule.window * 1000;
      const windowEnd = (Math.floor(at / windowMs) + 1) * windowMs;
      let entry = counts.get(key);
      if (!entry || entry.windowEnd !== windowEnd) {
        if (!entry && counts.size >= MAX_KEYS) prune(at);
        entry = { windowEnd, count: 0 };
        counts.set(key, entry);
      }
      if (entry.count >= rule.max) {
        return { allowed: false, retryAfter: Math.max(1, Math.ceil((windowEnd - at) / 1000)) };
      }
      entry.count++;
      return { allowed: true, retryAfter: null };
    },
  };
}
