// `npm run bundle:size`: builds the Worker as `wrangler deploy` would (dry run, minified) and
// prints its raw and gzip size; exits 1 when gzip exceeds the budget. The budget is about cold
// start (script parse time grows with size), not Cloudflare's 64 MiB script limit. wrangler.toml
// sets `minify = true`, so `wrangler deploy` uploads the same bytes measured here. Measured
// November 2026: 842 KiB raw / 218 KiB gzip before zod's locales were aliased away
// (src/platform/workers/zod-without-locales.js), 538 KiB / 166 KiB after; budget 170 KiB.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const budgetKiB = Number(process.env.BUNDLE_BUDGET_KIB ?? 170);
const outdir = "dist";
execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir, "--minify"], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
let raw = 0;
let gzip = 0;
for (const file of readdirSync(outdir)) {
  if (!/\.(m?js|wasm)$/.test(file)) continue;
  const bytes = readFileSync(join(outdir, file));
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
}
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`worker bundle: ${kib(raw)} raw, ${kib(gzip)} gzip (budget ${budgetKiB} KiB gzip)`);
if (gzip > budgetKiB * 1024) {
  console.error(`worker bundle is over budget by ${kib(gzip - budgetKiB * 1024)}`);
  process.exit(1);
}
