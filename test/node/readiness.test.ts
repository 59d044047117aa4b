import { describe, expect, it } from "vitest";
import { createTestApp } from "../harness";

/**
 * /ready in the Node home: it fails (503 problem+json) while the signing keys do not load,
 * as in workerd (test/workers/readiness.test.ts).
 */
describe("readiness and signing keys (Node home)", () => {
  it("answers 200 with usable keys", async () => {
    const t = await createTestApp();
    try {
      expect((await t.request("/ready")).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  for (const [what, value] of [
    ["npm's banner in front of the keys", "\n> nearbase@0.1.0 keys:rotate\n> tsx x\n\n[]"],
    ["an empty key set", "[]"],
    ["a key that is not JSON", "not json"],
  ] as const) {
    it(`answers 503 problem+json with ${what}`, async () => {
      const t = await createTestApp({ env: { JWT_PRIVATE_KEYS: value } });
      try {
        const res = await t.request("/ready");
        expect(res.status).toBe(503);
        expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(res.headers.get("retry-after")).toBe("5");
        const problem = (await res.json()) as { code: string; detail: string };
        expect(problem.code).toBe("UNAVAILABLE");
        expect(problem.detail).toMatch(/signing keys/);
        expect(t.log.events.some((e) => e.msg === "auth configuration invalid")).toBe(true);
        expect((await t.request("/health")).status).toBe(200);
      } finally {
        await t.close();
      }
    });
  }
});
