import "@testing-library/jest-dom/vitest";
import { afterEach, vi } from "vitest";
import { cleanup } from "@testing-library/react";
import { settleUser } from "./user";

vi.mock("next/navigation", () => ({
  useRouter: () => ({ replace: vi.fn(), push: vi.fn(), refresh: vi.fn() }),
  useSearchParams: vi.fn(() => new URLSearchParams()),
}));

// A test's interactions end with it: none may type into the next test's page.
afterEach(async () => {
  await settleUser();
  cleanup();
  globalThis.sessionStorage?.clear();
});
