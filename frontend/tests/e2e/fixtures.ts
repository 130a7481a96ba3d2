import { expect, test as base, type Page } from "@playwright/test";

// The app's own API calls: the journeys judge their answers (a wrong password
// is meant to get a 401), so only page assets are held to "never fails".
const apiCall = (resourceType: string) => ["fetch", "xhr", "eventsource", "websocket"].includes(resourceType);
const apiURL = (url: string) => URL.canParse(url) && new URL(url).pathname.startsWith("/api/");

/**
 * Records what a person would see go wrong on a page: console errors, uncaught
 * exceptions, and page assets (documents, scripts, styles, images, icons) that
 * fail or answer an error status.
 */
export function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const url = msg.location().url;
    // Chromium logs every error answer, API calls included, as "Failed to load resource".
    if (msg.text().startsWith("Failed to load resource") && apiURL(url)) return;
    problems.push(`console error: ${msg.text()} (${url})`);
  });
  page.on("pageerror", (err) => problems.push(`uncaught exception: ${err.message}`));
  page.on("requestfailed", (req) => {
    const reason = req.failure()?.errorText ?? "";
    // ERR_ABORTED: the browser dropped a load because the page moved on, not a server failure.
    if (!apiCall(req.resourceType()) && !reason.includes("ERR_ABORTED")) problems.push(`request failed: ${req.url()} ${reason}`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && !apiCall(res.request().resourceType())) problems.push(`${res.status()} for ${res.url()}`);
  });
  return problems;
}

/** Every journey's page is watched; a journey with a problem on it fails. */
export const test = base.extend({
  // (Playwright's own name for runJourney is `use`, which the React hooks lint rule misreads.)
  page: async ({ page }, runJourney) => {
    const problems = watch(page);
    await runJourney(page);
    expect(problems, "console errors and failed page assets").toEqual([]);
  },
});

export { expect };
