import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker, { housekeeping } from "../../src/platform/workers/main";
import { uniqueAddress } from "../conformance/home";

/**
 * Read/write limits over the Cloudflare location (wrangler.toml READ_LIMITER / WRITE_LIMITER,
 * src/platform/workers/rate-limit.ts), through the real entry in workerd. Each request goes to a
 * home with other bindings than the last, so the entry builds a new app — a new isolate's empty
 * memory — every time: the isolate-local limit (RATE_LIMIT_READ, here 100000/60s) never binds,
 * and only the binding (TEST_LIMITER, 3 a minute, vitest.config.ts) can refuse.
 */
const bindings = env as unknown as Record<string, unknown>;
let isolate = 0;
function home(limiter: unknown): Env {
  return {
    ...env,
    RATE_LIMIT_READ: "100000/60s",
    RATE_LIMIT_WRITE: "100000/60s",
    READ_LIMITER: limiter,
    WRITE_LIMITER: limiter,
    // Another value each time: another app, as another isolate would have.
    OTEL_SERVICE_NAME: `isolate-${isolate++}`,
  } as unknown as Env;
}

async function call(bindingsOfHome: Env, address: string, init: RequestInit = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request("https://nearbase.test/api/collections/posts/records?limit=1", {
      ...init,
      headers: { "cf-connecting-ip": address, ...(init.headers as Record<string, string>) },
    }) as Parameters<typeof worker.fetch>[0],
    bindingsOfHome,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("Rate Limiting binding (Workers home)", () => {
  it("refuses the 4th read of one client across isolates, as a 429 problem with Retry-After", async () => {
    const address = uniqueAddress();
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await call(home(bindings.TEST_LIMITER), address);
      statuses.push(last.status);
      if (i < 3) await last.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last!.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(last!.headers.get("retry-after")).toBe("60");
    expect(((await last!.json()) as { code: string }).code).toBe("RATE_LIMITED");
    // Another client is counted apart.
    expect((await call(home(bindings.TEST_LIMITER), uniqueAddress())).status).toBe(200);
  });

  it("counts writes against WRITE_LIMITER apart from reads", async () => {
    const address = uniqueAddress();
    const post = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await call(home(bindings.TEST_LIMITER), address, post);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // Anonymous creates are refused by the collection's rule until the limiter refuses first.
    expect(statuses.slice(0, 3)).not.toContain(429);
    expect(statuses[3]).toBe(429);
    expect((await call(home(bindings.TEST_LIMITER), address)).status).toBe(200);
  });

  it("without a refusing binding the same reads all pass (the 429 above is the binding's)", async () => {
    const address = uniqueAddress();
    for (let i = 0; i < 5; i++) {
      const res = await call(home(bindings.READ_LIMITER), address);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  });
});

describe("isolate-local limits (Workers home)", () => {
  it("keep a home's count when the cron's jobs run in the isolate between its requests", async () => {
    // One home whose own limit binds (3 reads a minute), with a binding that never refuses.
    const own = {
      ...env,
      RATE_LIMIT_READ: "3/60s",
      READ_LIMITER: bindings.READ_LIMITER,
      OTEL_SERVICE_NAME: "isolate-local-count",
    } as unknown as Env;
    const address = uniqueAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      // What a queue batch or cron run does in a live isolate: the entry builds the app for the
      // isolate's own bindings (housekeeping is the cron's first job). It used to replace the
      // home's app, and with it the home's count, so the 4th read passed.
      await housekeeping(env as unknown as Env);
      const res = await call(own, address);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
