import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { collections } from "../../src/collections/index";
import { buildModels } from "../../src/core/records/model";
import { apiDocument } from "../../src/http/openapi";
import { callWorker } from "./entry";

/**
 * GET /openapi.json in workerd, through the real entry: the Worker answers with the file the
 * build wrote into its static assets (ui/dist/_/openapi.json, read through ASSETS; the test
 * project's global setup builds it from the code under test, as wrangler's [build] does before a
 * deploy), not with a document of its own, and a deploy without the file answers a problem.
 */

/** An ASSETS binding standing in for a deploy's: answers the document path from `files`. */
function assets(files: () => Record<string, string | number>) {
  const asked: string[] = [];
  const binding = {
    asked,
    async fetch(request: Request) {
      const path = new URL(request.url).pathname;
      asked.push(path);
      const file = files()[path];
      if (file === undefined) return new Response("not found", { status: 404 });
      if (typeof file === "number") return new Response("", { status: file });
      return new Response(file, { headers: { "content-type": "application/json" } });
    },
  };
  return binding;
}

describe("/openapi.json from the static assets (Workers home)", () => {
  it("answers the built file, which is the current code's document", async () => {
    const res = await callWorker("/openapi.json", { ...env } as Env);
    expect(res.status).toBe(200);
    const body = await res.text();
    const file = await (await env.ASSETS.fetch("https://nearbase.test/_/openapi.json")).text();
    expect(body).toBe(file);
    expect(body).toBe(JSON.stringify(apiDocument(buildModels(collections))));
  });

  it("answers whatever the deploy's file holds, read once per isolate", async () => {
    const binding = assets(() => ({ "/_/openapi.json": '{"openapi":"3.1.0","built":true}' }));
    const bindings = { ...env, ASSETS: binding } as unknown as Env;
    for (let i = 0; i < 3; i++) {
      const res = await callWorker("/openapi.json", bindings);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"openapi":"3.1.0","built":true}');
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    }
    expect(binding.asked).toEqual(["/_/openapi.json"]);
  });

  it("answers 503 problem+json while the file is missing or unreadable, then the file once there", async () => {
    let files: Record<string, string | number> = {};
    const binding = assets(() => files);
    const bindings = { ...env, ASSETS: binding } as unknown as Env;
    const missing = await callWorker("/openapi.json", bindings);
    expect(missing.status).toBe(503);
    expect(missing.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const problem = (await missing.json()) as { code: string; detail: string; stack?: unknown };
    expect(problem.code).toBe("UNAVAILABLE");
    expect(problem.detail).toBe(
      "The OpenAPI document was not built: `npm run build:ui` writes it (wrangler deploy and wrangler dev run that first).",
    );
    expect(JSON.stringify(problem)).not.toMatch(/\bat .*\.(ts|js):\d+/);

    files = { "/_/openapi.json": 500 };
    const unreadable = await callWorker("/openapi.json", bindings);
    expect(unreadable.status).toBe(503);
    expect(((await unreadable.json()) as { detail: string }).detail).toBe(
      "The OpenAPI document cannot be read.",
    );

    files = { "/_/openapi.json": '{"openapi":"3.1.0"}' };
    const served = await callWorker("/openapi.json", bindings);
    expect(served.status).toBe(200);
    expect(await served.text()).toBe('{"openapi":"3.1.0"}');
  });

  it("answers 503 problem+json without an ASSETS binding at all", async () => {
    const { ASSETS: _, ...rest } = env as unknown as Record<string, unknown>;
    const res = await callWorker("/openapi.json", rest as unknown as Env);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe("UNAVAILABLE");
  });
});
