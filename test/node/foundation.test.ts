/**
 * Node-only foundation tests: each needs a hook only the in-process app has (an app built on an
 * unmigrated or unreachable database, routes added to the app, the captured log). The HTTP
 * behaviour both homes share is in test/conformance/foundation.suite.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { ApiError } from "../../src/core/kernel/errors";
import { memorySink } from "../../src/core/kernel/log";
import { createNodePlatform } from "../../src/platform/node/platform";
import { createTestApp, readProblem, type TestApp } from "../harness";

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  t.app.get("/test/boom", () => {
    throw new Error('SQLITE_ERROR: near "DROP": secret-table-name at /srv/app.ts:12');
  });
  t.app.get("/test/teapot", () => {
    throw new ApiError("CONFLICT", "That name is taken.", {
      errors: [{ path: "/name", message: "taken" }],
    });
  });
});
afterAll(() => t.close());

describe("readiness of a database the app cannot use", () => {
  it("GET /ready is 503 with MIGRATIONS_PENDING on a database nobody migrated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nearbase-unmigrated-"));
    const client = createClient({ url: `file:${join(dir, "raw.db")}` });
    const config = loadConfig({}, "node");
    const platform = createNodePlatform(config, {
      database: { client },
      log: memorySink(),
      env: {},
    });
    const app = createApp({ platform, config, collections: [] });
    const res = await app.request("/ready");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const problem = await readProblem(res);
    expect(problem.code).toBe("UNAVAILABLE");
    expect(problem.detail).toMatch(/db:migrate/);
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("GET /ready is 503 when the database cannot be reached", async () => {
    const client = createClient({ url: "http://127.0.0.1:9" });
    const config = loadConfig({}, "node");
    const platform = createNodePlatform(config, {
      database: { client },
      log: memorySink(),
      env: {},
    });
    const app = createApp({ platform, config, collections: [] });
    const res = await app.request("/ready");
    expect(res.status).toBe(503);
    expect((await readProblem(res)).detail).toBe("The database did not answer.");
  });
});

describe("errors are problem+json", () => {
  it("an ApiError keeps its code, status and field errors", async () => {
    const res = await t.request("/test/teapot");
    expect(res.status).toBe(409);
    const problem = await readProblem(res);
    expect(problem.code).toBe("CONFLICT");
    expect(problem.detail).toBe("That name is taken.");
    expect(problem.errors).toEqual([{ path: "/name", message: "taken" }]);
  });

  it("an unexpected error is a 500 problem with no stack or SQL, and the cause is logged", async () => {
    const res = await t.request("/test/boom");
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    expect(text).not.toMatch(/SQLITE|secret-table-name|app\.ts|at /);
    const problem = await readProblem(res);
    expect(problem.code).toBe("INTERNAL");
    const logged = t.log.events.find(
      (e) => e.msg === "unhandled error" && e.requestId === problem.requestId,
    );
    expect(JSON.stringify(logged)).toMatch(/secret-table-name/);
  });
});

describe("request log", () => {
  it("writes one line per request with route pattern, status, duration and request id", async () => {
    const res = await t.request("/api/auth/me?token=super-secret-value", {
      headers: { authorization: "Bearer hunter2-token" },
    });
    const id = res.headers.get("x-request-id");
    const lines = t.log.events.filter((e) => e.msg === "request" && e.requestId === id);
    expect(lines).toHaveLength(1);
    // The made-up bearer token is refused (401), and neither it nor the query string is logged.
    expect(lines[0]).toMatchObject({ level: "info", method: "GET", status: 401 });
    expect(typeof lines[0]?.durationMs).toBe("number");
    const all = JSON.stringify(t.log.events);
    expect(all).not.toMatch(/super-secret-value|hunter2-token/);
  });
});
