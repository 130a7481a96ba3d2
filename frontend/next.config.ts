import type { NextConfig } from "next";
import { PHASE_PRODUCTION_BUILD } from "next/constants";
import { buildId, serverActionsKey } from "./scripts/build-identity.mjs";

export default function config(phase: string): NextConfig {
  if (phase === PHASE_PRODUCTION_BUILD) {
    // Read by `next build` after this file; the same sources give the same key (see build-identity.mjs).
    process.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY ??= serverActionsKey(buildId(process.cwd()));
  }
  return {
    output: "standalone",
    poweredByHeader: false,
    // A digest of the sources, not a random ID: one commit builds to the same bytes anywhere.
    generateBuildId: () => buildId(process.cwd()),
    // better-sqlite3 and pg are native/Node-only: load them at run time, never bundle them.
    serverExternalPackages: ["better-sqlite3", "pg"],
    // No next/image in this app: keep sharp and its libvips binaries (~20 MB) out of the image.
    images: { unoptimized: true },
    outputFileTracingExcludes: { "*": ["node_modules/sharp/**", "node_modules/@img/**"] },
    async headers() {
      return [
        {
          source: "/:path*",
          headers: [
            { key: "X-Content-Type-Options", value: "nosniff" },
            { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
            { key: "X-Frame-Options", value: "DENY" },
          ],
        },
      ];
    },
  };
}
