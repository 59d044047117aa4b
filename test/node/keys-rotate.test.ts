import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { KeySet } from "../../src/core/accounts/signing-keys";

/**
 * The README's deploy step pipes the key command into `wrangler secret put JWT_PRIVATE_KEYS`:
 * its stdout must be exactly a key set the worker loads. npm prints a banner on stdout unless
 * `--silent`, which is why the README's command has it.
 */
describe("npm run --silent keys:rotate -- --print", () => {
  const run = (...npmArgs: string[]) =>
    execFileSync("npm", [...npmArgs, "keys:rotate", "--", "--print"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 60_000,
    });

  it("prints a signing key set, and nothing else, that the worker loads", async () => {
    const out = run("run", "--silent");
    const keys = await KeySet.fromJson(out);
    expect(keys).toBeDefined();
    const parsed = JSON.parse(out) as { kid: string; d?: string }[];
    expect(parsed).toHaveLength(1);
    expect(parsed[0]!.d).toBeTypeOf("string");
  }, 60_000);

  it("without --silent, npm's banner would reach the secret (and the keys would not load)", async () => {
    const out = run("run");
    expect(out).toMatch(/^\s*> /);
    await expect(KeySet.fromJson(out)).rejects.toThrow();
  }, 60_000);
});
