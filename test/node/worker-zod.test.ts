import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import * as mini from "zod/mini";
// @ts-expect-error: plain JS without types; it is what the Worker build gets for "zod".
import * as workerZod from "../../src/platform/workers/zod-without-locales.js";

/**
 * Nearbase builds its schemas with zod/mini; a collection's `validate` may still use classic zod
 * (README, Defining collections). The Worker build aliases classic "zod" and "zod/v4" to
 * src/platform/workers/zod-without-locales.js (wrangler.toml): zod's own API minus its 63 locale
 * catalogues, which `import { z } from "zod"` would otherwise ship (+49 KiB gzip); the Node build
 * does the same (scripts/build.ts). A name missing there would be `undefined` in the built homes
 * only (the test pools resolve zod itself), so these tests keep it complete and made of zod's own
 * values, and keep src/ on zod/mini (classic would add 14-31 KiB gzip to the Worker).
 */
const root = resolve(import.meta.dirname, "../..");
const worker = workerZod as unknown as Record<string, unknown>;
const classic = z as unknown as Record<string, unknown>;

/** Left out on purpose (see the file): the locales and the opt-in AOT compiler, ~300 KiB raw. */
const leftOut = [
  "ZodCompileAsyncError",
  "ZodCompileUnsupportedError",
  "compile",
  "deepPartial",
  "fromJSONSchema",
  "locales",
  "withParser",
];
const leftOutOfCore = [
  ...leftOut.filter((n) => n.startsWith("ZodCompile")),
  "INVALID",
  "compile",
  "compileFn",
  "locales",
  "withParser",
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|mts|js|mjs)$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [path] : [];
  });
}

describe("classic zod in the Worker (src/platform/workers/zod-without-locales.js)", () => {
  it("has every export of classic zod and z.core but the locales and the compiler, as zod's own values", () => {
    expect(
      Object.keys(classic)
        .filter((name) => !(name in worker))
        .sort(),
    ).toEqual(leftOut);
    for (const name of Object.keys(worker)) {
      if (name === "z" || name === "default" || name === "core") continue;
      if (typeof classic[name] === "object" && classic[name] !== null)
        for (const [inner, value] of Object.entries(classic[name] as object))
          expect((worker[name] as Record<string, unknown>)[inner], `${name}.${inner}`).toBe(value);
      else expect(worker[name], name).toBe(classic[name]);
    }
    const core = worker.core as Record<string, unknown>;
    const classicCore = z.core as unknown as Record<string, unknown>;
    expect(
      Object.keys(classicCore)
        .filter((name) => !(name in core))
        .sort(),
    ).toEqual(leftOutOfCore.sort());
    for (const name of Object.keys(core))
      if (typeof core[name] === "function")
        expect(core[name], `core.${name}`).toBe(classicCore[name]);
  });

  it("validates a classic schema with zod's English messages", () => {
    const wz = worker.z as typeof z;
    const schema = wz.strictObject({ tags: wz.array(wz.string().min(1)).max(2).optional() });
    const result = schema.safeParse({ tags: ["", "b"], extra: 1 });
    expect(result.error?.issues.map((i) => [i.path.join("/"), i.message])).toEqual([
      ["tags/0", "Too small: expected string to have >=1 characters"],
      ["", 'Unrecognized key: "extra"'],
    ]);
    expect(schema.safeParse({ tags: ["a", "b", "c"] }).error?.issues[0]?.message).toBe(
      "Too big: expected array to have <=2 items",
    );
    // zod/mini's parse of the same classic schema says the same.
    expect(mini.safeParse(schema, { tags: [""] }).error?.issues[0]?.message).toBe(
      "Too small: expected string to have >=1 characters",
    );
  });

  it("is not what src/ uses: every schema there is zod/mini", () => {
    // Any way in: `from`, a bare or dynamic `import`, `require`, either quote, and classic's
    // subpaths ("zod/v4/classic/…", "zod/v3"); "zod/mini", "zod/v4/core" and the `en` locale are
    // fine. The alias files themselves (src/platform/workers/zod-*.js) are classic zod by design.
    const classic =
      /(?:\bfrom|\bimport|\brequire)\s*\(?\s*["'](?:zod(?:\/v4(?:\/classic(?:\/[^"']*)?)?|\/v3(?:\/[^"']*)?)?|drizzle-zod)["']/;
    const classicImports = sourceFiles(join(root, "src"))
      .filter((file) => !/src\/platform\/workers\/zod-[\w-]+\.js$/.test(file))
      .filter((file) => classic.test(readFileSync(file, "utf8")))
      .map((file) => file.slice(root.length + 1));
    expect(classicImports).toEqual([]);
    for (const line of [
      'import { z } from "zod";',
      "export { z } from 'zod/v4';",
      'export * from "zod/v4/classic";',
      'const z = await import("zod");',
      'import "zod/v3";',
      'import { createInsertSchema } from "drizzle-zod";',
    ])
      expect(line).toMatch(classic);
    for (const line of [
      'import * as z from "zod/mini";',
      'import en from "zod/v4/locales/en.js";',
      'import type * as core from "zod/v4/core";',
    ])
      expect(line).not.toMatch(classic);
  });
});
