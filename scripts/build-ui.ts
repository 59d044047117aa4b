// `npm run build:ui`: the admin dashboard (ui/) into ui/dist/_/, which both homes serve at /_/
// (src/http/routes/admin-ui.ts), and the OpenAPI document the Workers home serves at
// /openapi.json (ui/dist/_/openapi.json, scripts/build-openapi.ts). Runs on `npm install`
// (prepare) and before `npm start` (prestart) with `--no-openapi` (the Node home builds the
// document itself), and in full as wrangler's [build] command (wrangler dev and every deploy),
// so the README's two commands still do everything; ~0.3 s for the UI, 2-5 s with the document
// (it loads the app's code). Preact + esbuild: esbuild is already the
// project's bundler (scripts/build.ts), so a ~1 kLOC single-page app needs no second toolchain.
// Prints the first load's gzip size and fails over the budget, and fails when a colour pair of
// either theme is under its WCAG AA contrast (ui/contrast.ts). Only changed files are written
// (each through a rename) and stale ones removed after, so a server or test reading ui/dist
// meanwhile (wrangler dev rebuilds on every change; two builds may overlap) never finds a file
// missing or half written.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { checkContrast } from "../ui/contrast";
import { writeIfChanged } from "./lib/write-if-changed";

/** Issue #16: ≤ 150 KiB gzip for the first load (HTML + script + styles). */
const budgetBytes = 150 * 1024;
const root = join(import.meta.dirname, "..", "ui");
const out = join(root, "dist", "_");

const lowContrast = checkContrast(readFileSync(join(root, "src", "styles.css"), "utf8")).filter(
  (c) => c.ratio < c.min,
);
for (const c of lowContrast)
  console.error(
    `build:ui: ${c.theme} --${c.fg} on --${c.bg} is ${c.ratio.toFixed(2)}:1, under ${c.min}:1 (${c.where}); npx tsx ui/contrast.ts lists every pair`,
  );
if (lowContrast.length > 0) process.exit(1);
mkdirSync(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: join(root, "src", "main.tsx") },
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome120", "firefox121", "safari17"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: false,
  legalComments: "none",
  metafile: true,
  write: false,
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});

for (const file of result.outputFiles) writeIfChanged(file.path, file.contents);
const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
const script = outputs.find((f) => f.endsWith(".js"));
const styles = outputs.find((f) => f.endsWith(".css"));
if (script === undefined || styles === undefined)
  throw new Error("build:ui made no script or styles");

const template = readFileSync(join(root, "index.html"), "utf8");
const html = template
  .replace("%SCRIPT%", `/_/assets/${script}`)
  .replace("%STYLES%", `/_/assets/${styles}`);
writeIfChanged(join(out, "index.html"), html);
writeIfChanged(join(out, "favicon.svg"), readFileSync(join(root, "favicon.svg")));
// `--no-openapi` (npm install's prepare, npm start's prestart): the Node home builds the document
// in-process, so those skip loading the app's code for it (~1-4 s) and keep the file as it is.
const document = process.argv.includes("--no-openapi")
  ? undefined
  : (await import("./build-openapi")).writeApiDocument(join(root, "dist"));

// What an earlier build left (older hashed assets): everything this build did not write.
const written = new Set([
  ...Object.keys(result.metafile.outputs).map((file) => relative(out, file)),
  "index.html",
  "favicon.svg",
  // The document (build-openapi.ts's apiDocumentFile), kept as it is when not rebuilt.
  "openapi.json",
]);
for (const entry of readdirSync(join(root, "dist"), { recursive: true, withFileTypes: true })) {
  const path = join(entry.parentPath, entry.name);
  if (!entry.isFile() || written.has(relative(out, path))) continue;
  // Another build's document on its way in (build-openapi.ts renames it within milliseconds).
  if (entry.name.endsWith(".tmp") && Date.now() - statSync(path).mtimeMs < 60_000) continue;
  rmSync(path);
}

const gz = (bytes: Buffer) => gzipSync(bytes, { level: 9 }).byteLength;
const first = [
  Buffer.from(html),
  readFileSync(join(out, "assets", script)),
  readFileSync(join(out, "assets", styles)),
];
const raw = first.reduce((n, b) => n + b.byteLength, 0);
const gzip = first.reduce((n, b) => n + gz(b), 0);
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `ui/dist/_: first load ${kib(gzip)} gzip (${kib(raw)} raw; budget ${kib(budgetBytes)}), ${document === undefined ? "openapi.json not rebuilt (--no-openapi)" : `openapi.json ${kib(document.raw)} (${kib(document.gzip)} gzip)`} in ${Math.round(performance.now())} ms (since the process started)`,
);
if (gzip > budgetBytes) {
  console.error(`build:ui: the first load is over its budget (${kib(gzip)} > ${kib(budgetBytes)})`);
  process.exit(1);
}
