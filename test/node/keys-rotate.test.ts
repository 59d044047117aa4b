import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KeySet } from "../../src/core/accounts/signing-keys";

/**
 * The README's deploy step pipes the key command into `wrangler secret put JWT_PRIVATE_KEYS`:
 * its stdout must be exactly a key set the worker loads. npm prints a banner on stdout unless
 * `--silent`, which is why the README's command has it.
 */
describe("npm run --silent keys:rotate -- --print", () => {
  const run = (npmArgs: string[], extra: string[] = []) =>
    execFileSync("npm", [...npmArgs, "keys:rotate", "--", "--print", ...extra], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 60_000,
    });

  it("prints a signing key set, and nothing else, that the worker loads", async () => {
    const out = run(["run", "--silent"]);
    const keys = await KeySet.fromJson(out);
    expect(keys).toBeDefined();
    const parsed = JSON.parse(out) as { kid: string; d?: string }[];
    expect(parsed).toHaveLength(1);
    expect(parsed[0]!.d).toBeTypeOf("string");
  }, 60_000);

  it("without --silent, npm's banner would reach the secret (and the keys would not load)", async () => {
    const out = run(["run"]);
    expect(out).toMatch(/^\s*> /);
    await expect(KeySet.fromJson(out)).rejects.toThrow();
  }, 60_000);

  it("with --from, puts the new key first and keeps the current ones verifying (3 at most)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nearbase-keys-"));
    try {
      const first = run(["run", "--silent"]);
      const file = join(dir, "current.json");
      writeFileSync(file, first);
      const second = run(["run", "--silent"], ["--from", file]);
      const kids = (JSON.parse(second) as { kid: string }[]).map((k) => k.kid);
      expect(kids).toHaveLength(2);
      expect(kids[1]).toBe((JSON.parse(first) as { kid: string }[])[0]!.kid);
      expect(await KeySet.fromJson(second)).toBeDefined();
      // A file that is not a key set never becomes the secret.
      writeFileSync(file, "\n> nearbase@0.1.0 keys:rotate\n[]");
      expect(() => run(["run", "--silent"], ["--from", file])).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
