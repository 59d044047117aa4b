// `npm run bundle:size`: builds the Worker as `wrangler deploy` would (dry run, minified) and
// prints its raw and gzip size; exits 1 when gzip exceeds the budget. The budget is about cold
// start (a bigger script takes longer to parse at every new isolate), not Cloudflare's 64 MiB
// script limit. wrangler.toml sets `minify = true`, so `wrangler deploy` uploads the same bytes
// measured here. `npm run bundle:size -- --why` also lists what weighs: the script's bytes by
// package or source folder (through its source map), minified and gzipped per group.
//
// Measured (gzip -9 of what wrangler uploads):
//   842 KiB raw / 218 KiB gzip  Nov 2026, before: zod with its 64 locales, deploy unminified
//   538 KiB raw / 166 KiB gzip  zod aliased without locales (src/platform/workers/zod-*.js)
//   889 KiB raw / 273 KiB gzip  Dec 2026, with GraphQL (#15), passkeys/TOTP/OTP (#19), privacy
//                               (#13), realtime Durable Objects (#14). By `--why` (each group
//                               gzipped alone): zod 41.8, graphql 38.7, drizzle-orm + drizzle-zod
//                               22.3, @libsql/hrana-client + client + core + js-base64 20.5,
//                               hono 12.3, jose 8.3, oslo (webauthn, cbor, crypto, encoding,
//                               binary) 9.7, arctic 1.7; our src ~140 (accounts 20.6, routes
//                               14.3, records 11.8, graphql 11.0, events 10.2, workers 8.4,
//                               privacy 8.2, realtime 6.5, config 6.5, …).
//   969 KiB raw / 298 KiB gzip  7 Dec 2026, + files on records (#20, src/core/files 6.1 + route
//                               and R2/Images adapters ~2), search (#18, src/core/search 6.7 +
//                               route), seven more OAuth providers (#19, 4.3 with arctic's
//                               provider classes), strict query parameters (#23, 0.9); each
//                               measured by its author against a tree without it. Budget 305.
//   997 KiB raw / 308 KiB gzip  7 Dec 2026, + files at the edge, direct uploads and multipart
//                               batch (#20): 985.8 -> 996.8 KiB raw, 304.4 -> 307.8 KiB gzip
//                               (+3.4; HEAD 5b05357 with and without those four commits).
//                               Budget 309.
//   943 KiB raw / 288 KiB gzip  7 Dec 2026, keep_names = false in wrangler.toml: esbuild's
//                               keepNames wrapped every function and class in a __name() call
//                               (997.1 -> 942.5 KiB raw, 307.9 -> 288.0 KiB gzip). Budget 289.
//   938 KiB raw / 286 KiB gzip  one copy of @oslojs/crypto/sha2 and @oslojs/encoding (aliases in
//                               wrangler.toml): 942.5 -> 937.9 KiB raw, 288.0 -> 286.0 KiB gzip.
//                               Budget 287.
//   896 KiB raw / 273 KiB gzip  "zod" aliased to src/platform/workers/zod-workers.js, a plain `z`
//                               of only the zod functions the code calls (zod's own; the escaping
//                               namespace kept every export and z.core): 935.4 -> 895.9 KiB raw,
//                               284.9 -> 273.1 KiB gzip (HEAD a2024a8 with and without it);
//                               zod 46 -> 34 KiB gzip. Same answers and the same /openapi.json
//                               from both builds in a bare workerd (a scripted A/B of 23
//                               requests). Budget 274.
//   899 KiB raw / 275 KiB gzip  HEAD e7d364e: 899.3 KiB raw, 274.6 KiB gzip (d509251, verified
//                               access tokens, landed +1.4 after the line above). Budget 276.
//   896 KiB raw / 273 KiB gzip  "js-base64" aliased to src/platform/workers/js-base64.js (libSQL's
//                               two calls over the runtime's base64): 899.3 -> 896.2 KiB raw,
//                               274.6 -> 273.3 KiB gzip. Budget 275.
//   867 KiB raw / 262 KiB gzip  /openapi.json a build-time static asset (ui/dist/_/openapi.json,
//                               scripts/build-openapi.ts, read through ASSETS; the Node home
//                               still builds it): apiDocument, every *Paths(), route-docs.ts and
//                               core/*/openapi.ts out of the script (test/node/openapi-asset.test.ts
//                               holds that): 901.3 -> 867.4 KiB raw, 274.0 -> 262.3 KiB gzip (one
//                               snapshot of the tree, zod/mini work in flight, with and without
//                               it). The route modules' `docs` objects stay (their initializers
//                               call zod), and so does zod's JSON Schema code while classic zod
//                               schemas are in the script.
//   816 KiB raw / 250 KiB gzip  zod/mini everywhere in src/ (src/core, src/http, the sample
//                               collection) and drizzle-zod replaced by records/column-schemas.ts:
//                               HEAD f520280, 816.5 KiB raw, 250.2 KiB gzip (262.3 on the line
//                               above, taken with this work in flight); zod 29.7 -> 18.5 KiB gzip
//                               by `--why`. Nothing imports classic zod any more, so the alias of
//                               "zod" to zod-workers.js (classic's functions we called, made to
//                               defeat drizzle-zod's escaping namespace) changed nothing (same
//                               bytes with and without it) and is gone; "zod" now points at
//                               zod-without-locales.js for collections whose `validate` is
//                               written in classic zod. Such a collection costs, measured on
//                               posts.ts: `import * as z from "zod"` +9.9 KiB gzip (with or
//                               without the alias), `import { z } from "zod"` +24.8 (+74.1
//                               without it: the `z` object keeps every export, locales included),
//                               and `import { z } from "zod/mini"` +65.3 (no alias for mini;
//                               Nearbase's files all use `import * as z`). Budget 251.
//   792 KiB raw / 243 KiB gzip  the route modules' docs (16 in src/http/routes, GraphQL's) built
//                               by a function when the document is, as docs.ts's since dd2b835:
//                               the Worker, which serves the build's copy, no longer builds them
//                               and their doc-only schemas at start. HEAD be81093 with and without
//                               it: 816.5 -> 791.7 KiB raw, 250.2 -> 242.6 KiB gzip (src/http/
//                               routes 18.3 -> 11.5, src/http/graphql 12.5 -> 11.7). Budget 244.
//   771 KiB raw / 236 KiB gzip  privacy.ts's export answer doc (the last JSON Schema built at
//                               module level, at every isolate start) in a function too: zod's
//                               JSON Schema code leaves the script. HEAD d266a22 with and without
//                               it: 791.7 -> 770.7 KiB raw, 242.6 -> 235.8 KiB gzip (zod 18.5 ->
//                               12.1). Budget 237.
//   770 KiB raw / 236 KiB gzip  the refresh-cookie answers and GraphQL's answer headers likewise:
//                               770.7 -> 769.8 KiB raw, 235.8 -> 235.5 KiB gzip. With zod's JSON
//                               Schema code gone, a collection in classic zod costs more than on
//                               the 816/250 line (posts.ts on HEAD edbba73): `import * as z from
//                               "zod"` +14.3 KiB gzip, `import { z } from "zod"` +31.3, and
//                               `import { z } from "zod/mini"` +71.9.
// The 120 KiB target predates GraphQL and the strong sign-in work; it cannot be met
// without removing features: graphql 38.7, drizzle-orm 22, libSQL 20, hono 12, jose 10, oslo 12
// and our own src (~130) are past it before zod. What was measured and not done (7 Dec 2026,
// each against HEAD d509251 at 274.5 KiB gzip, in a copy of the tree):
// - /openapi.json built at build time: done since as a static asset (the 867/262 line above).
// - zod/mini instead of classic: done since (the 816/250 line above).
// - A trimmed copy of zod's classic schemas.js (no string-format methods, fewer ZodType
//   methods): -3.3 KiB gzip for a fork of a 1,500-line vendor file. Not worth it.
// - The libSQL WebSocket client: @libsql/client/web's createClient picks HTTP for libsql:// and
//   https:// (what the Worker is configured with); ws(s):// URLs alone use it. Aliasing
//   "@libsql/client" and "@libsql/client/web" to its http.js is -3.8 KiB gzip, but refuses
//   DATABASE_URL=ws(s):// on Workers, which the config accepts today (a product decision).
// - graphql's SDL-only validation rules (~2.8 KiB gzip) stay because specifiedRules.mjs builds
//   its arrays with Object.freeze at module level; drizzle's pg-core bits (2.6) are imported by
//   drizzle-orm's own sql.js and relations.js. Neither can be aliased (relative imports).
// The budget is what ships now plus a little room, so new weight has to be measured and argued
// for. To A/B a change, build both trees with `wrangler deploy --dry-run --outdir <dir>
// --minify` and compare; `--why` above attributes bytes through the source map.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const budgetKiB = Number(process.env.BUNDLE_BUDGET_KIB ?? 237);
const why = process.argv.includes("--why");
// Its own directory: dist/ also holds the Node build (`npm run build`).
const outdir = "dist/worker";
execFileSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir, "--minify", "--env", ""], {
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
let raw = 0;
let gzip = 0;
for (const file of readdirSync(outdir)) {
  // Every module wrangler uploads (scripts, wasm, text and data modules), not maps or notes.
  if (/\.(map|md|json)$/.test(file)) continue;
  const bytes = readFileSync(join(outdir, file));
  raw += bytes.length;
  gzip += gzipSync(bytes, { level: 9 }).length;
}
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
if (why) {
  // Which source each byte of the uploaded script came from (its source map), grouped by package
  // or source folder; each group's bytes gzipped on their own estimate what it costs compressed
  // (the sum is a little above the whole, which compresses across groups).
  const script = readdirSync(outdir).find((f) => f.endsWith(".js"));
  const code = readFileSync(join(outdir, script!), "utf8");
  const map = JSON.parse(readFileSync(join(outdir, `${script}.map`), "utf8")) as {
    sources: string[];
    mappings: string;
  };
  const groupOf = (source: string) => {
    const path = source.replace(/^(\.\.\/)+/, "");
    // drizzle-orm ships source maps whose sources are ../src/*.ts: esbuild chains them, so its
    // bytes come out as node_modules/src/… (no other package here does that).
    if (path.startsWith("node_modules/src/")) return "drizzle-orm";
    return path.includes("node_modules/")
      ? path.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+)\/.*/, "$1")
      : path.split("/").slice(0, 3).join("/");
  };
  const parts = new Map<string, string[]>();
  const lines = code.split("\n");
  decodeMappings(map.mappings).forEach((spans, line) => {
    const text = lines[line] ?? "";
    spans.forEach(([column, source], i) => {
      const group = source === undefined ? "(unmapped)" : groupOf(map.sources[source]!);
      const piece = text.slice(column, spans[i + 1]?.[0] ?? text.length);
      const list = parts.get(group) ?? [];
      list.push(piece);
      parts.set(group, list);
    });
  });
  const rows = [...parts].map(([group, pieces]) => {
    const text = pieces.join("");
    return { group, raw: Buffer.byteLength(text), gzip: gzipSync(text, { level: 9 }).length };
  });
  rows.sort((a, b) => b.gzip - a.gzip);
  console.log("what weighs (minified bytes, and gzip of each group alone):");
  for (const { group, raw: r, gzip: g } of rows.slice(0, 40)) {
    console.log(`${kib(r).padStart(10)} ${kib(g).padStart(10)} gz  ${group}`);
  }
}
console.log(`worker bundle: ${kib(raw)} raw, ${kib(gzip)} gzip (budget ${budgetKiB} KiB gzip)`);
if (gzip > budgetKiB * 1024) {
  console.error(`worker bundle is over budget by ${kib(gzip - budgetKiB * 1024)}`);
  process.exit(1);
}

/** A source map's mappings: per generated line, [generated column, source index] per segment. */
function decodeMappings(mappings: string): [number, number | undefined][][] {
  let source = 0; // relative across the whole string; columns are relative within a line
  return mappings.split(";").map((line) => {
    const out: [number, number | undefined][] = [];
    let column = 0;
    for (const segment of line.split(",")) {
      if (segment === "") continue;
      const fields = vlq(segment);
      column += fields[0]!;
      if (fields.length > 1) source += fields[1]!;
      out.push([column, fields.length > 1 ? source : undefined]);
    }
    return out;
  });
}

function vlq(segment: string): number[] {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = chars.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}
