import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callWorker } from "./entry";

/**
 * /ready in workerd, through the real entry: it fails (503 problem+json) while the signing keys
 * do not load — e.g. npm's banner piped into the secret by `npm run keys:rotate -- --print`
 * without `--silent` — instead of 200 while every sign-in answers CONFIG_INVALID.
 */

describe("readiness and signing keys (Workers home)", () => {
  it("answers 200 with usable keys", async () => {
    const res = await callWorker("/ready", { ...env } as Env);
    expect(res.status).toBe(200);
  });

  for (const [what, value] of [
    ["npm's banner in front of the keys", "\n> nearbase@0.1.0 keys:rotate\n> tsx x\n\n[]"],
    ["an empty key set", "[]"],
    ["a key that is not JSON", "not json"],
  ] as const) {
    it(`answers 503 problem+json with ${what}`, async () => {
      const bindings = { ...env, JWT_PRIVATE_KEYS: value } as Env;
      const res = await callWorker("/ready", bindings);
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.headers.get("retry-after")).toBe("5");
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem.code).toBe("UNAVAILABLE");
      expect(problem.detail).toMatch(/signing keys/);
      // /health stays a liveness check: no I/O, no keys.
      expect((await callWorker("/health", bindings)).status).toBe(200);
    });
  }
});
