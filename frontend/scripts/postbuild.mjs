// After `next build`: the preview keys derived from the build ID (so that one
// commit builds to the same bytes: see build-identity.mjs), and the static
// assets copied into the standalone server, which `next build` leaves out,
// so that `npm start` serves a complete app.
import { cpSync, existsSync } from "node:fs";
import { stampPreviewKeys } from "./build-identity.mjs";

stampPreviewKeys(".next");
cpSync(".next/static", ".next/standalone/.next/static", { recursive: true });
if (existsSync("public")) cpSync("public", ".next/standalone/public", { recursive: true });
