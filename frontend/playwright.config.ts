import { defineConfig, devices } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? 3100);
const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
// A stack started elsewhere (dagger call e2e); then the browser is the one
// bundled in the official Playwright image.
const external = process.env.E2E_BASE_URL;

// End-to-end against the real stack (PostgreSQL, Go backend, standalone
// frontend). Locally it starts that stack itself and drives Debian's
// Chromium; Playwright never downloads a browser.
export default defineConfig({
  testDir: "tests/e2e",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  outputDir: "test-results",
  use: {
    baseURL: external ?? `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: external ? undefined : chromium,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], channel: undefined }, grepInvert: /@phone/ },
    { name: "phone", use: { ...devices["Pixel 7"], channel: undefined }, grep: /@phone/ },
  ],
  webServer: external ? undefined : {
    // exec: devstack itself must receive SIGTERM, to stop its servers and database.
    command: `go build -o .e2e/devstack ../cmd/devstack && exec .e2e/devstack -repo .. -frontend .next/standalone -port ${port}`,
    gracefulShutdown: { signal: "SIGTERM", timeout: 30_000 },
    url: `http://127.0.0.1:${port}/api/health`,
    timeout: 240_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
  },
});
