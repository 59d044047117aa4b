// `npm run bundle:size`: builds the Worker as `wrangler deploy` would (dry run, minified) and
// prints its raw and gzip size; exits 1 when gzip exceeds the budget. The budget is about cold
// start (a bigger script takes longer to parse at every new isolate), not Cloudflare's 64 MiB
// script limit. wrangler.toml sets `minify = true`, so `wrangler deploy` uploads the same bytes
// measured here. `npm run bundle:size -- --why` also lists what weighs (esbuild's metafile, bytes
// in the minified output per package or source folder).
//
// Measured November 2026 (gzip -9 of what wrangler uploads):
//   842 KiB raw / 218 KiB gzip  before: zod with its 64 locales, deploy unminified
//   538 KiB raw / 166 KiB gzip  zod aliased without locales (src/platform/workers/zod-*.js)
//   see the commit log and the README "Workers home" for later steps; budget below.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const budgetKiB = Number(process.env.BUNDLE_BUDGET_KIB ?? 170);
const why = process.argv.includes("--why");
// Its own directory: dist/ also holds the Node build (`npm run build`).
const outdir = "dist/worker";
const metafile = join(outdir, "bundle-meta.json");
execFileSync(
  "wrangler",
  ["deploy", "--dry-run", "--outdir", outdir, "--minify", ...(why ? ["--metafile", metafile] : [])],
  {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  },
);
let raw = 0;
let gzip = 0;
for (const file of readdirSync(outdir)) {
  // Every module wrangler uploads (scripts, wasm, text and data modules), not maps or notes.
  if (/\.(map|md)$/.test(file) || file === "bundle-meta.json") continue;
  const bytes = readFileSync(join(outdir, file));
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
}
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
if (why) {
  const meta = JSON.parse(readFileSync(metafile, "utf8")) as {
    outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
  };
  const weights = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const group = input.startsWith("node_modules/")
        ? input.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+)\/.*/, "$1")
        : input.split("/").slice(0, 3).join("/");
      weights.set(group, (weights.get(group) ?? 0) + bytesInOutput);
    }
  }
  console.log("minified bytes by package / source folder (before gzip):");
  for (const [group, bytes] of [...weights].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${kib(bytes).padStart(10)}  ${group}`);
  }
}
console.log(`worker bundle: ${kib(raw)} raw, ${kib(gzip)} gzip (budget ${budgetKiB} KiB gzip)`);
if (gzip > budgetKiB * 1024) {
  console.error(`worker bundle is over budget by ${kib(gzip - budgetKiB * 1024)}`);
  process.exit(1);
}
