import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
// @ts-expect-error: plain JS without types; it is what the Worker build gets for "zod".
import { z as workerZ } from "../../src/platform/workers/zod-workers.js";

/**
 * The Worker build aliases "zod" and "zod/v4" to src/platform/workers/zod-workers.js, which names
 * only the zod functions the code calls (wrangler.toml). A `z.<name>` missing there would be
 * `undefined` in the deployed Worker only (the test pool and the Node home use all of zod), so
 * every request reaching that code would fail there. These tests keep the list complete and
 * made of zod's own functions, so validation answers and their messages are zod's.
 */
const root = resolve(import.meta.dirname, "../..");
const worker = workerZ as Record<string, unknown>;
const zod = z as unknown as Record<string, Record<string, unknown>>;

/** Every `z.a` and `z.a.b` a source reads at run time (not `z.infer<…>` and other types). */
function namesUsed(text: string, binding: RegExp): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(binding)) {
    const [, first, second, after] = m as unknown as [string, string, string | undefined, string];
    if (after === "<") continue;
    names.add(
      second !== undefined && typeof zod[first] === "object" ? `${first}.${second}` : first,
    );
  }
  return [...names];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [path] : [];
  });
}

function lookUp(object: Record<string, unknown>, name: string): unknown {
  return name
    .split(".")
    .reduce<unknown>((o, key) => (o as Record<string, unknown> | undefined)?.[key], object);
}

describe("the Worker's zod (src/platform/workers/zod-workers.js)", () => {
  it("has every z.<name> that src/ reads at run time", () => {
    const missing: string[] = [];
    for (const file of sourceFiles(join(root, "src"))) {
      const text = readFileSync(file, "utf8");
      if (!/^import \{[^}]*\bz\b[^}]*\} from "zod";/m.test(text)) continue;
      for (const name of namesUsed(text, /\bz\.(\w+)(?:\.(\w+))?(\s*<)?/g)) {
        if (lookUp(worker, name) === undefined)
          missing.push(`${name} (${file.slice(root.length + 1)})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("holds zod's own functions, so schemas, their methods and messages are zod's", () => {
    for (const [name, value] of Object.entries(worker)) {
      if (typeof value === "object" && value !== null && name !== "NEVER") {
        for (const [inner, fn] of Object.entries(value))
          expect(fn, `${name}.${inner}`).toBe(zod[name]![inner]);
      } else expect(value, name).toBe(zod[name]);
    }
    const schema = workerZ.strictObject({ email: workerZ.string().max(5).optional() });
    const result = schema.safeParse({ email: "too long", extra: 1 });
    expect(result.success).toBe(false);
    expect(
      result.error.issues.map((i: { code: string; message: string }) => [i.code, i.message]),
    ).toEqual([
      ["too_big", "Too big: expected string to have <=5 characters"],
      ["unrecognized_keys", 'Unrecognized key: "extra"'],
    ]);
  });
});
