import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiDocumentFile, writeApiDocument } from "../../../scripts/build-openapi";
import { createTestApp, readProblem, type TestApp } from "../../../test/harness";
import { checkContrast, contrast, stylesPath, themes } from "../../../ui/contrast";
import { assetPath } from "./admin-ui";

describe("admin UI paths", () => {
  it("maps /_/ to the index and plain names to files", () => {
    expect(assetPath("/_/")).toBe("/_/index.html");
    expect(assetPath("/_/assets/app-ABC123.js")).toBe("/_/assets/app-ABC123.js");
    expect(assetPath("/_/favicon.svg")).toBe("/_/favicon.svg");
  });

  it("refuses anything that could leave the folder or name a hidden file", () => {
    for (const path of [
      "/_/../package.json",
      "/_/assets/../../src/app.ts",
      "/_/..",
      "/_/.env",
      "/_/assets/.hidden",
      "/_/a\\b",
      "/_/%2e%2e/x",
      "/_/a//b",
      "/_/assets/",
    ])
      expect(assetPath(path), path).toBeUndefined();
  });
});

describe("admin UI colour contrast (WCAG AA, ui/contrast.ts)", () => {
  it("computes WCAG ratios", () => {
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(contrast("#777777", "#ffffff")).toBeCloseTo(4.48, 2);
    expect(contrast("#fff", "#fff")).toBe(1);
  });

  it("reads both themes, the dark one over the light one", () => {
    const css =
      ":root {\n  --a: #fff;\n  --b: #000;\n}\n@media (prefers-color-scheme: dark) {\n  :root {\n    --a: #111;\n  }\n}";
    expect(themes(css)).toEqual({
      light: { a: "#fff", b: "#000" },
      dark: { a: "#111", b: "#000" },
    });
  });

  it("has every pair of both themes at or over its minimum", () => {
    const checks = checkContrast(readFileSync(stylesPath, "utf8"));
    expect(checks.length).toBeGreaterThan(30);
    expect(checks.filter((c) => c.ratio < c.min)).toEqual([]);
  });
});

// In-process requests to the Node home. npm install builds ui/dist; when it is missing (a clone
// installed with --ignore-scripts) the test builds it rather than skipping.
describe("admin UI in the Node home", () => {
  let t: TestApp;
  beforeAll(async () => {
    if (!existsSync("ui/dist/_/index.html"))
      execFileSync(process.execPath, ["--import", "tsx", "scripts/build-ui.ts"], {
        stdio: "ignore",
      });
    t = await createTestApp();
  }, 120_000);
  afterAll(() => t.close());

  it("serves the page with a strict CSP and no framing", async () => {
    const res = await t.request("/_/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script
    expect(html).not.toContain("style=");
  });

  it("answers errors as problems, with the same headers", async () => {
    const missing = await t.request("/_/assets/missing.js");
    expect(missing.status).toBe(404);
    expect((await readProblem(missing)).code).toBe("NOT_FOUND");
    expect(missing.headers.get("x-frame-options")).toBe("DENY");
    const post = await t.request("/_/", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    expect((await t.request("/_/../package.json")).status).not.toBe(200);
  });

  it("does not serve the Workers home's copy of the API document: /openapi.json is its address", async () => {
    if (!existsSync(apiDocumentFile("ui/dist"))) writeApiDocument("ui/dist");
    const res = await t.request("/_/openapi.json");
    expect(res.status).toBe(404);
    expect((await readProblem(res)).detail).toContain("/openapi.json");
    expect((await t.request("/openapi.json")).status).toBe(200);
  });

  it("gzips text for clients that take it (the Node home has no compressing edge)", async () => {
    const page = await (await t.request("/_/")).text();
    const script = /src="(\/_\/assets\/[^"]+\.js)"/.exec(page)![1]!;
    const plain = await t.request(script);
    const raw = new Uint8Array(await plain.arrayBuffer());
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(plain.headers.get("vary")).toBe("accept-encoding");
    const zipped = await t.request(script, { headers: { "accept-encoding": "gzip, br" } });
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    const body = new Uint8Array(await zipped.arrayBuffer());
    expect(body.byteLength).toBeLessThan(raw.byteLength / 2);
    const unzipped = await new Response(
      new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer();
    expect(new Uint8Array(unzipped)).toEqual(raw);
  });

  it("says whether an admin exists, for the first-run page", async () => {
    expect(await (await t.request("/_/setup.json")).json()).toEqual({ adminExists: false });
    await t.signIn("user"); // a user is not an admin
    expect(await (await t.request("/_/setup.json")).json()).toEqual({ adminExists: false });
    await t.signIn("admin");
    expect(await (await t.request("/_/setup.json")).json()).toEqual({ adminExists: true });
  });
});
