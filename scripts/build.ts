// `npm run build`: the Node home as one ES module, dist/nearbase.js, started by `node
// dist/server.js` — no TypeScript compiled at run time (tsx's esbuild service and its memory are
// gone) and one file to load instead of hundreds of modules. dist/server.js is a launcher that
// turns on Node's on-disk compile cache (module.enableCompileCache: V8 bytecode for the bundle is
// kept in NODE_COMPILE_CACHE, else <tmpdir>/node-compile-cache) before it imports the bundle; the
// bundle cannot do that for itself, since it is compiled before any of its code runs. Measured on
// a seeded file: CPU from spawn to the first 200 on /ready ~380 -> ~295 ms (compiling the 2.8 MB
// module was 110 ms of it). Where the cache directory is not writable Node carries on without it.
// The native libSQL binding stays in node_modules (required at start, `loadByRequire`);
// migrations are read from ../migrations next to dist/, so ship dist/, migrations/,
// node_modules (production deps) and package.json together.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, resolve } from "node:path";
import { build, type Plugin } from "esbuild";

/**
 * Node's built-in modules and the libSQL binding (kept in node_modules: it loads a native .node
 * file for the platform) loaded with require(), never through an ES `import`. Importing a
 * built-in from an ES module builds its ESM facade, which reads EVERY export once — node:http's
 * lazy `WebSocket`/`MessageEvent` getters included, and those load Node's own copy of undici;
 * importing a CommonJS package makes Node lex its source for export names first. Measured alone
 * (Node 22, this machine): `import "node:http"` 45 ms and +3.0 MiB heap, `require` 4 ms and
 * +0.8 MiB; dns, crypto, cluster and fs 2-5 ms more each as imports; libsql 105-146 ms as an
 * import, 27-64 ms by require. esbuild turns the import of each CommonJS shim below into
 * property reads at the point of use (same values), and `require` is the banner's
 * createRequire, resolving from dist/ as the import did.
 */
const requiredModules = new Set([
  ...builtinModules.flatMap((name) => [name, `node:${name}`]),
  "libsql",
  "libsql/promise",
]);
const loadByRequire: Plugin = {
  name: "load-by-require",
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => {
      if (!requiredModules.has(args.path)) return undefined;
      // An `await import("node:…")` (a module loaded on first use) stays one: the namespace of a
      // split-off CommonJS shim would have only `default`, and it is not on the start path.
      if (args.namespace === "required" || args.kind === "dynamic-import")
        return { path: args.path, external: true };
      return { path: args.path, namespace: "required" };
    });
    b.onLoad({ filter: /.*/, namespace: "required" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

/**
 * Modules with a Node-build variant beside them (`<name>.node.ts`): src/http/graphql/load-runtime
 * imports graphql-js on first use here, while the Worker keeps it in its one-file bundle.
 */
const nodeVariants: Plugin = {
  name: "node-variants",
  setup(b) {
    b.onResolve({ filter: /\/load-runtime$/ }, (args) => ({
      path: resolve(args.resolveDir, `${args.path}.node.ts`),
    }));
  },
};

/**
 * Classic zod ("zod", "zod/v4"), for a collection's `validate` written with it (Nearbase's own
 * code uses zod/mini), without its 63 locale catalogues, as in the Worker (see the file): ~260 KiB
 * of source less to hold in memory. Those two paths exactly: esbuild's `alias` also rewrites
 * subpaths, and "zod/mini" or "zod/v4/locales/en.js" must resolve as they are.
 */
const zodWithoutLocales: Plugin = {
  name: "zod-without-locales",
  setup(b) {
    b.onResolve({ filter: /^zod(\/v4)?$/ }, () => ({
      path: resolve("src/platform/workers/zod-without-locales.js"),
    }));
  },
};

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
  platform: "node",
  format: "esm",
  target: "node22",
  // libsql (the binding) stays in node_modules (`loadByRequire`). @libsql/client and its pure-JS
  // dependencies are bundled: left external they were ~75 ES and CommonJS modules that Node
  // resolved, read and (for CommonJS) lexed one by one at every start, and a second copy of ws
  // beside the bundled one.
  plugins: [loadByRequire, nodeVariants, zodWithoutLocales],
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
// AsyncLocalStorage (the request's telemetry) on AsyncContextFrame, Node 24's default, instead of
// a hook on every promise: 0.76-0.98x CPU per request (bench/results/profile-node-2026-12-07.md).
// Node 22 takes it only as a start flag, so the launcher starts Node again with it, in place
// (process.execve: the same pid, stdio and environment; ~30 ms once).
const frame = "--experimental-async-context-frame";
if (
  Number(process.versions.node.split(".")[0]) < 24 &&
  typeof process.execve === "function" &&
  !process.execArgv.includes(frame)
)
  process.execve(process.execPath, [process.execPath, frame, ...process.execArgv, ...process.argv.slice(1)]);
module.enableCompileCache?.();
await import("./nearbase.js");
`;
// Chunks first, the entry and the launcher last: a process starting meanwhile finds every
// chunk the new entry imports (chunk names are content hashes, so old ones stay for old entries).
const entry = resolve("dist/nearbase.js");
const files = [
  ...result.outputFiles
    .map((file) => ({ path: file.path, contents: file.contents }))
    .sort((a, b) => Number(a.path.startsWith(entry)) - Number(b.path.startsWith(entry))),
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
