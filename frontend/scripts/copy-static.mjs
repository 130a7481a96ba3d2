// `next build` with output: "standalone" leaves static assets out of the
// standalone server; copy them in so `npm start` serves a complete app.
import { cpSync, existsSync } from "node:fs";

cpSync(".next/static", ".next/standalone/.next/static", { recursive: true });
if (existsSync("public")) cpSync("public", ".next/standalone/public", { recursive: true });
