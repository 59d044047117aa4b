import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import type { MiddlewareHandler } from "hono";
import { createApp } from "../src/app";
import { collections } from "../src/collections/index";
import type { AppEnv, Principal } from "../src/core/http/context";
import { memorySink } from "../src/core/observability/logger";
import { loadConfig } from "../src/env";
import { migrateDatabase } from "../src/platform/node/migrate";
import { createNodePlatform } from "../src/platform/node/platform";

export interface TestAppOptions {
  /** Makes a read replica of the app's fresh primary database file (given its path). */
  replica?: (primaryPath: string) => Promise<Client>;
  /** Settings as they would come from the environment (e.g. `{ CORS_ORIGINS: "*" }`). */
  env?: Record<string, string>;
}

/**
 * A fresh Nearbase app (Node home) on a fresh, migrated, real libSQL database file. Call it
 * per test file or per test; `close()` removes the database.
 */
export async function createTestApp(options: TestAppOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-test-"));
  const url = `file:${join(dir, "test.db")}`;
  const client = createClient({ url });
  await migrateDatabase(client);
  const log = memorySink();
  // Generous limits so suites are not throttled by their own traffic; rate-limit tests set theirs.
  const env = {
    DATABASE_URL: url,
    RATE_LIMIT_READ: "100000/60s",
    RATE_LIMIT_WRITE: "100000/60s",
    RATE_LIMIT_AUTH: "100000/60s",
    ...options.env,
  };
  const config = loadConfig(env, "node");
  // A clock tests can move forward (cache freshness); it starts at the real time.
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  const platform = createNodePlatform({
    client,
    replica: options.replica ? await options.replica(join(dir, "test.db")) : undefined,
    log,
    env,
    cacheMaxBytes: config.cacheMaxBytes,
    clock,
  });
  const app = createApp({ platform, config, collections, authenticate: testPrincipal });

  /** Sends a request to the app in-process; a plain object body is sent as JSON. */
  async function request(path: string, init: RequestInit & { json?: unknown } = {}) {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    let body = rest.body;
    if (json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(json);
    }
    return app.request(path, { ...rest, headers, body });
  }

  let users = 0;
  /**
   * Request headers that make the request come from a fresh user (or admin). Use it in every
   * test that needs a caller; it will issue real access tokens once auth lands.
   */
  async function signIn(role: "user" | "admin" = "user") {
    users += 1;
    const principal: Principal = {
      kind: "user",
      id: `usr_test${users}${Math.random().toString(36).slice(2, 10)}`,
      role,
    };
    return { id: principal.id, headers: { "x-test-principal": JSON.stringify(principal) } };
  }

  return {
    app,
    signIn,
    url,
    /** Moves the app's clock forward. */
    advance(ms: number) {
      offsetMs += ms;
    },
    client,
    platform,
    log,
    config,
    request,
    async close() {
      await platform.settle();
      client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// TEMPORARY until the auth issue lands: a test-only way to be someone. Replaced by real tokens.
const testPrincipal: MiddlewareHandler<AppEnv> = async function testPrincipal(c, next) {
  const header = c.req.header("x-test-principal");
  if (header) c.set("principal", JSON.parse(header) as Principal);
  await next();
};

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** Reads a problem+json body and checks its media type, so a test can assert on `code`. */
export async function readProblem(res: Response) {
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("application/problem+json")) {
    throw new Error(
      `expected application/problem+json, got ${type} (${res.status}): ${await res.text()}`,
    );
  }
  return (await res.json()) as {
    type: string;
    title: string;
    status: number;
    code: string;
    detail?: string;
    requestId?: string;
    errors?: { path: string; message: string }[];
  };
}
