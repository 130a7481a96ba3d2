import "@testing-library/jest-dom/vitest";
import { afterEach, vi } from "vitest";
import { cleanup } from "@testing-library/react";

vi.mock("next/navigation", () => ({
  useRouter: () => ({ replace: vi.fn(), push: vi.fn(), refresh: vi.fn() }),
  useSearchParams: vi.fn(() => new URLSearchParams()),
}));

afterEach(() => {
  cleanup();
  globalThis.sessionStorage?.clear();
});
