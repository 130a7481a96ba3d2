import userEvent from "@testing-library/user-event";

// Interactions still under way. A test that times out (a slow, loaded
// machine) is abandoned while its user.type goes on, and user-event types
// into whatever element has focus: the next test's input. Seen in CI: a task
// titled "laidtdreeds", "added" and "litres" interleaved letter by letter.
const pending = new Set<Promise<unknown>>();

type User = ReturnType<typeof userEvent.setup>;

/** userEvent.setup(), with every interaction tracked until it ends. */
export function setupUser(): User {
  const user = userEvent.setup();
  return new Proxy(user, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args);
        if (result instanceof Promise) {
          pending.add(result);
          result.then(
            () => pending.delete(result),
            () => pending.delete(result),
          );
        }
        return result;
      };
    },
  });
}

/** Waits until every interaction started so far has ended, one way or another. */
export async function settleUser(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}
