import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collections } from "../../src/collections/index";
import { buildModels } from "../../src/core/records/model";
import { apiDocument } from "../../src/http/openapi";
import type { Home, MakeHome } from "./home";

const origin = "https://app.example.test";

/** What an answer says beside its body, without what changes per request. */
function stableHeaders(res: Response): Record<string, string> {
  const volatile = new Set(["date", "x-request-id", "x-trace-id", "server-timing", "traceparent"]);
  return Object.fromEntries([...res.headers].filter(([name]) => !volatile.has(name)));
}

/**
 * GET /openapi.json, as clients and tools read it (issue #21): the Node home builds the document
 * in-process, the Workers home answers with the file the build wrote into its static assets
 * (ASSETS binding), and both answer the same bytes with the same headers: compact JSON built
 * from the current code, a minute of caching, the app's security headers and CORS.
 */
export function defineDocsSuite(makeHome: MakeHome) {
  describe("/openapi.json", () => {
    let t: Home;
    beforeAll(async () => {
      t = await makeHome({ env: { CORS_ORIGINS: origin } });
    });
    afterAll(() => t.close());

    it("answers the current code's document, byte for byte, with its headers", async () => {
      const res = await t.request("/openapi.json", { headers: { origin } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(JSON.stringify(apiDocument(buildModels(collections))));
      expect(stableHeaders(res)).toEqual({
        "access-control-allow-credentials": "true",
        "access-control-allow-origin": origin,
        "access-control-expose-headers":
          "x-request-id,x-trace-id,x-cache,server-timing,etag,location,www-authenticate,allow,retry-after,ratelimit,ratelimit-policy,nearbase-consistency",
        "cache-control": "public, max-age=60",
        "content-type": "application/json; charset=utf-8",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "cross-origin",
        "origin-agent-cluster": "?1",
        "referrer-policy": "no-referrer",
        "strict-transport-security": "max-age=15552000; includeSubDomains",
        vary: "Origin",
        "x-content-type-options": "nosniff",
        "x-dns-prefetch-control": "off",
        "x-download-options": "noopen",
        "x-frame-options": "SAMEORIGIN",
        "x-permitted-cross-domain-policies": "none",
        "x-xss-protection": "0",
      });
    });

    it("answers every request the same bytes (kept after the first) and HEAD without a body", async () => {
      const first = await (await t.request("/openapi.json")).text();
      const second = await t.request("/openapi.json");
      expect(await second.text()).toBe(first);
      const head = await t.request("/openapi.json", { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(head.headers.get("cache-control")).toBe("public, max-age=60");
      expect(await head.text()).toBe("");
    });

    it("is served with a stale credential too (it never reads credentials)", async () => {
      const res = await t.request("/openapi.json", {
        headers: { authorization: "Bearer not-a-token" },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { openapi: string }).openapi).toBe("3.1.0");
    });
  });
}
