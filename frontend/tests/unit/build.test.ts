import { describe, expect, it } from "vitest";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildId, previewKeys, serverActionsKey, sourceFiles, stampPreviewKeys } from "../../scripts/build-identity.mjs";

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "build-identity-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const sources = {
  "package.json": "{}",
  "src/app/page.tsx": "export default function Page() {}",
  "node_modules/next/index.js": "dependency",
  "tests/unit/a.test.ts": "test",
  ".next/BUILD_ID": "old",
  "next-env.d.ts": "generated",
  ".env.local": "SECRET=1",
};

describe("build identity", () => {
  it("reads only the build's sources", () => {
    expect(sourceFiles(tree(sources))).toEqual(["package.json", "src/app/page.tsx"]);
  });

  it("gives a copy elsewhere, with other file times, the same build ID", () => {
    const a = tree(sources);
    const b = mkdtempSync(join(tmpdir(), "build-identity-copy-"));
    cpSync(a, b, { recursive: true });
    utimesSync(join(b, "src/app/page.tsx"), new Date(0), new Date(0));
    expect(buildId(b)).toBe(buildId(a));
    expect(buildId(a)).toMatch(/^[0-9a-f]{20}$/);
  });

  it("changes the build ID with a source, not with tests, outputs or dependencies", () => {
    const a = tree(sources);
    const before = buildId(a);
    writeFileSync(join(a, "tests/unit/a.test.ts"), "another test");
    writeFileSync(join(a, "node_modules/next/index.js"), "another dependency");
    writeFileSync(join(a, ".next/BUILD_ID"), "newer");
    expect(buildId(a)).toBe(before);
    writeFileSync(join(a, "src/app/page.tsx"), "export default function Page() { return null }");
    expect(buildId(a)).not.toBe(before);
  });

  it("derives keys of the sizes Next.js uses, one set per build ID", () => {
    const keys = previewKeys("6dea385ca47a8f552316");
    expect(keys.previewModeId).toMatch(/^[0-9a-f]{32}$/);
    expect(keys.previewModeSigningKey).toMatch(/^[0-9a-f]{64}$/);
    expect(keys.previewModeEncryptionKey).toMatch(/^[0-9a-f]{64}$/);
    expect(previewKeys("6dea385ca47a8f552316")).toEqual(keys);
    expect(previewKeys("0000000000000000000a")).not.toEqual(keys);
    expect(Buffer.from(serverActionsKey("6dea385ca47a8f552316"), "base64")).toHaveLength(32);
  });

  it("replaces the random preview keys of a build everywhere, and refuses a copy it cannot reach", () => {
    const random = { previewModeId: "a".repeat(32), previewModeSigningKey: "b".repeat(64), previewModeEncryptionKey: "c".repeat(64) };
    const manifest = JSON.stringify({ version: 4, routes: {}, preview: random }, null, 2);
    const dist = tree({
      "BUILD_ID": "6dea385ca47a8f552316",
      "prerender-manifest.json": manifest,
      "server/preview-props.json": JSON.stringify(random),
      "standalone/.next/prerender-manifest.json": manifest,
      "cache/.previewinfo": JSON.stringify(random),
    });
    const keys = stampPreviewKeys(dist);
    expect(keys).toEqual(previewKeys("6dea385ca47a8f552316"));
    for (const file of ["prerender-manifest.json", "standalone/.next/prerender-manifest.json"]) {
      expect(JSON.parse(readFileSync(join(dist, file), "utf8")).preview).toEqual(keys);
    }
    expect(JSON.parse(readFileSync(join(dist, "server/preview-props.json"), "utf8"))).toEqual(keys);

    writeFileSync(join(dist, "prerender-manifest.json"), manifest);
    writeFileSync(join(dist, "server/edge-bundle.js"), `const id = "${random.previewModeId}"`);
    expect(() => stampPreviewKeys(dist)).toThrow(/random preview keys remain in server\/edge-bundle\.js/);
  });

  // The derived keys are public (see build-identity.mjs): nothing may rely on them.
  it("keeps the app free of draft mode and Server Actions", () => {
    const root = join(__dirname, "../..");
    const offending = sourceFiles(root)
      .filter((f) => f.startsWith("src/"))
      .filter((f) => /["']use server["']|\bdraftMode\s*\(/.test(readFileSync(join(root, f), "utf8")));
    expect(offending).toEqual([]);
  });
});
