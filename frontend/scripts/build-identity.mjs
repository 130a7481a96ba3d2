// What makes two builds of the same sources the same bytes. `next build`
// puts three random values into its output: the build ID (by default a new
// nanoid each build), the preview-mode keys, and the Server Actions
// encryption key. Here the build ID is a digest of the sources, and the keys
// are derived from it.
//
// Keys derived from sources anyone can read are public, but so is any key
// baked into an image anyone can pull: a random one only looks secret. This
// app uses neither preview (draft) mode nor Server Actions
// (tests/unit/build.test.ts keeps it so). An app that does must give Next.js
// its keys at run time, e.g. NEXT_SERVER_ACTIONS_ENCRYPTION_KEY, which it
// reads over the one in the build.
import { createHash, createHmac } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync, writeFileSync, existsSync } from "node:fs";
import { join, relative, sep } from "node:path";

// Not sources of the build: dependencies, outputs, tests, local data and
// secrets (the same as .dockerignore leaves out of the image's build).
const SKIP_DIRS = new Set(["node_modules", ".next", ".git", "tests", "test-results", "playwright-report", ".e2e", "data", "out", "coverage"]);
const SKIP_FILES = [/^\.env/, /\.db(-.*)?$/, /\.tsbuildinfo$/, /^next-env\.d\.ts$/, /^Dockerfile$/, /^\.dockerignore$/];

/** The files under root that the build reads, as sorted relative paths. */
export function sourceFiles(root) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() ? SKIP_DIRS.has(entry.name) : SKIP_FILES.some((re) => re.test(entry.name))) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(relative(root, path).split(sep).join("/"));
    }
  };
  walk(root);
  return files.sort();
}

/** The build ID: a digest of the sources' paths and contents (not their times or modes). */
export function buildId(root) {
  const digest = createHash("sha256");
  for (const file of sourceFiles(root)) {
    const path = join(root, file);
    let content;
    try {
      content = readFileSync(path);
    } catch {
      content = Buffer.from(`symlink:${readlinkSync(path)}`);
    }
    digest.update(`${file}\0${createHash("sha256").update(content).digest("hex")}\n`);
  }
  return digest.digest("hex").slice(0, 20);
}

/** A value for one purpose, derived from the build ID: bytes of HMAC-SHA256. */
export function derive(id, purpose, bytes) {
  return createHmac("sha256", id).update(purpose).digest().subarray(0, bytes);
}

/** The Server Actions encryption key for a build (AES-256, base64, as Next.js expects it). */
export function serverActionsKey(id) {
  return derive(id, "server-actions-encryption-key", 32).toString("base64");
}

/** The preview-mode keys for a build, in the form Next.js writes them. */
export function previewKeys(id) {
  return {
    previewModeId: derive(id, "preview-mode-id", 16).toString("hex"),
    previewModeSigningKey: derive(id, "preview-mode-signing-key", 32).toString("hex"),
    previewModeEncryptionKey: derive(id, "preview-mode-encryption-key", 32).toString("hex"),
  };
}

// Where `next build` writes the preview keys, relative to .next and to the standalone copy of it.
const PREVIEW_FILES = [
  ["prerender-manifest.json", (json, keys) => ({ ...json, preview: { ...json.preview, ...keys } })],
  ["server/preview-props.json", (json, keys) => ({ ...json, ...keys })],
];

/**
 * Replaces the random preview keys of a finished build with ones derived
 * from its build ID, in distDir and in its standalone copy, and fails if the
 * old values are still found anywhere in the output.
 */
export function stampPreviewKeys(distDir) {
  const id = readFileSync(join(distDir, "BUILD_ID"), "utf8").trim();
  const keys = previewKeys(id);
  const manifest = JSON.parse(readFileSync(join(distDir, "prerender-manifest.json"), "utf8"));
  const random = Object.values(manifest.preview ?? {}).filter((v) => typeof v === "string" && !Object.values(keys).includes(v));
  for (const dir of [distDir, join(distDir, "standalone", ".next")]) {
    for (const [file, stamp] of PREVIEW_FILES) {
      const path = join(dir, file);
      if (!existsSync(path)) continue;
      const text = readFileSync(path, "utf8");
      const indent = text.startsWith("{\n") ? 2 : undefined;
      writeFileSync(path, JSON.stringify(stamp(JSON.parse(text), keys), null, indent));
    }
  }
  const left = random.length ? filesContaining(distDir, random) : [];
  if (left.length) {
    throw new Error(`random preview keys remain in ${left.join(", ")}: this build cannot be reproduced until they are derived there too`);
  }
  return keys;
}

function filesContaining(dir, needles) {
  const hits = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (path.includes(`${sep}cache${sep}`)) continue;
    const text = readFileSync(path, "latin1");
    if (needles.some((n) => text.includes(n))) hits.push(relative(dir, path));
  }
  return hits;
}
