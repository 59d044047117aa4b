// `npm run build`: the Node home as one ES module, dist/nearbase.js, started by `node
// dist/server.js` — no TypeScript compiled at run time (tsx's esbuild service and its memory are
// gone) and one file to load instead of hundreds of modules. dist/server.js is a launcher that
// turns on Node's on-disk compile cache (module.enableCompileCache: V8 bytecode for the bundle is
// kept in NODE_COMPILE_CACHE, else <tmpdir>/node-compile-cache) before it imports the bundle; the
// bundle cannot do that for itself, since it is compiled before any of its code runs. Measured on
// a seeded file: CPU from spawn to the first 200 on /ready ~380 -> ~295 ms (compiling the 2.8 MB
// module was 110 ms of it). Where the cache directory is not writable Node carries on without it. The native libSQL
// binding stays an import from node_modules; migrations are read from ../migrations next to
// dist/, so ship dist/, migrations/, node_modules (production deps) and package.json together.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { build } from "esbuild";

const started = performance.now();
const result = await build({
  entryPoints: { nearbase: "src/platform/node/main.ts" },
  outdir: "dist",
  bundle: true,
  // What is imported dynamically (sharp for thumbnails, undici for webhook delivery) becomes a
  // chunk of its own, read and compiled only when first used. Chunks sit beside the entry, so
  // paths resolved from import.meta.url (migrations, the admin UI) are the same from any of them.
  splitting: true,
  chunkNames: "chunk-[hash]",
  // zod without its 64 locale catalogues, as in the Worker (see the file): ~260 KiB of source
  // less to hold in memory.
  alias: {
    zod: "./src/platform/workers/zod-without-locales.js",
    "zod/v4": "./src/platform/workers/zod-without-locales.js",
  },
  platform: "node",
  format: "esm",
  target: "node22",
  // libsql loads a native .node file for the platform; @libsql/client is kept beside it so
  // their versions match what npm installed.
  external: ["libsql", "@libsql/*"],
  // Where migrations are, relative to the bundle (src/platform/node/migrate.ts).
  define: { NEARBASE_BUNDLED: "true" },
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: {
    js: 'import { createRequire as __nearbaseRequire } from "node:module"; const require = __nearbaseRequire(import.meta.url);',
  },
  sourcemap: "linked",
  // Whitespace and comments out (names kept, for readable stack traces): V8 holds the whole
  // source as a string, and undici's comments made it non-ASCII, so two bytes a character —
  // 6.6 MiB of heap for 3.4 MB of text; now 2.4 MB of ASCII. Measured on a seeded file: heap
  // used at idle 25.6 -> 21.3 MiB, CPU to the first 200 ~420 -> ~360 ms. Mangling names as
  // well saved nothing more once keepNames was needed.
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
  write: false,
});
// Each file is written beside its place and renamed over it: a process starting from dist/
// (a test, the peer benchmark) while another build runs reads the old bundle or the new one,
// never half of one.
const launcher = `// Built by scripts/build.ts: Node's compile cache on, then the Node home (dist/nearbase.js).
import module from "node:module";
module.enableCompileCache?.();
await import("./nearbase.js");
`;
const files = [
  ...result.outputFiles.map((file) => ({ path: file.path, contents: file.contents })),
  { path: resolve("dist/server.js"), contents: new TextEncoder().encode(launcher) },
];
for (const file of files) {
  mkdirSync(dirname(file.path), { recursive: true });
  const partial = `${file.path}.${process.pid}.partial`;
  writeFileSync(partial, file.contents);
  renameSync(partial, file.path);
}
const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith(".js"))
  .reduce((sum, [, out]) => sum + out.bytes, 0);
if (!process.argv.includes("--quiet"))
  console.log(
    `dist/nearbase.js: ${(bytes / 1024).toFixed(0)} KiB in ${Math.round(performance.now() - started)} ms — start it with: node dist/server.js`,
  );
