// What the user typed survives a trip to the sign-in page.
const PREFIX = "todo-draft:";

export function saveDraft(key: string, value: string): void {
  try {
    if (value) sessionStorage.setItem(PREFIX + key, value);
    else sessionStorage.removeItem(PREFIX + key);
  } catch {
    // storage unavailable (private mode): drafts are a convenience only
  }
}

export function loadDraft(key: string): string {
  try {
    return sessionStorage.getItem(PREFIX + key) ?? "";
  } catch {
    return "";
  }
}
