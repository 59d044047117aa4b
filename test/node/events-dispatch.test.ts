import type { LookupAddress } from "node:dns";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { attempt, type Claimed, type DeliveryDeps } from "../../src/core/events/deliver";
import { encryptSecret, generateSecret } from "../../src/core/events/signing";
import { memorySink } from "../../src/core/kernel/log";
import { guardedDispatchers, type Lookup } from "../../src/platform/node/webhook-connect";
import { createTestApp, type TestApp } from "../harness";
import { type Receiver, startReceiver } from "./webhook-receiver";

const key = "test-webhook-key-0123456789abcdef0123456789";

describe("DISPATCH_MAX_IN_FLIGHT caps one dispatcher's attempts over all endpoints", () => {
  let t: TestApp;
  let rx: Receiver;
  beforeAll(async () => {
    t = await createTestApp({
      env: {
        WEBHOOK_SECRET_KEY: key,
        WEBHOOK_ALLOW_LOOPBACK: "true",
        DISPATCH_MAX_IN_FLIGHT: "2",
        DISPATCH_POLL_MS: "20",
      },
    });
    rx = await startReceiver();
  });
  afterAll(async () => {
    rx.release();
    await t.platform.dispatcher.stop();
    await rx.close();
    await t.close();
  });

  it("is a declared setting (1 … 10000)", () => {
    expect(t.config.webhooks.maxInFlight).toBe(2);
    expect(loadConfig({}, "node").webhooks.maxInFlight).toBe(64);
    expect(() => loadConfig({ DISPATCH_MAX_IN_FLIGHT: "0" }, "node")).toThrow(
      /DISPATCH_MAX_IN_FLIGHT/,
    );
  });

  it("never more than 2 at once, though two endpoints allow 10 each; all arrive after", async () => {
    const admin = await t.signIn("admin");
    for (const path of ["/a", "/b"]) {
      const res = await t.request("/api/webhooks", {
        method: "POST",
        headers: admin.headers,
        json: { url: rx.url(path), patterns: ["posts.created"], maxConcurrency: 10 },
      });
      expect(res.status).toBe(201);
    }
    rx.set(() => "hang");
    const user = await t.signIn();
    for (let i = 0; i < 4; i++) {
      const res = await t.request("/api/collections/posts/records", {
        method: "POST",
        headers: user.headers,
        json: { title: `capped ${i}` },
      });
      expect(res.status).toBe(201);
    }
    t.platform.dispatcher.start();
    await rx.until(() => rx.held >= 2);
    // Several more passes (20 ms polls, woken by nothing new): the cap holds.
    for (let i = 0; i < 10; i++) {
      t.platform.dispatcher.wake();
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(rx.held).toBe(2);
    expect(rx.maxInFlight).toBe(2);
    rx.set(() => 204);
    rx.release();
    await rx.until(() => rx.received.length >= 8);
    expect(rx.maxInFlight).toBe(2);
  });
});

describe("DNS rebinding: the address checked is the address connected to (Node)", () => {
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
  });
  afterAll(() => rx.close());

  /** A name's "DNS": answers `address`, counting the lookups. */
  function dns(address: string) {
    const calls: string[] = [];
    const lookup: Lookup = (hostname, _options, callback) => {
      calls.push(hostname);
      const family = address.includes(":") ? 6 : 4;
      callback(null, [{ address, family } satisfies LookupAddress]);
    };
    return { lookup, calls };
  }

  async function tryDeliver(
    path: string,
    answer: string,
    policy: { allowLoopback: boolean; allowPrivate?: boolean },
  ) {
    const { lookup, calls } = dns(answer);
    const secret = generateSecret();
    const deps: DeliveryDeps = {
      sql: undefined as never, // attempt() does not write
      settings: {
        ...loadConfig({ WEBHOOK_SECRET_KEY: key }, "node").webhooks,
        allowLoopback: policy.allowLoopback,
      },
      log: memorySink(),
      now: () => Date.now(),
      // What a rebinding name answered to an earlier check: a public address.
      resolve: async () => ["93.184.215.14"],
      connectGuard: guardedDispatchers(lookup),
    };
    const port = new URL(rx.url()).port;
    const body = JSON.stringify({ id: "evt_rebind", type: "posts.created", data: {} });
    const claimed: Claimed = {
      id: "dlv_rebind",
      endpointId: "whe_rebind",
      attempts: 1,
      createdAt: Date.now(),
      event: { id: "evt_rebind", type: "posts.created", occurredAt: Date.now(), body },
      endpoint: {
        url: `http://rebind.example:${port}${path}`,
        secret: await encryptSecret(key, secret),
        previousSecret: null,
        previousSecretUntil: null,
        allowPrivate: policy.allowPrivate ?? false,
        timeoutMs: 5_000,
      },
    };
    return { result: await attempt(deps, claimed), calls, secret };
  }

  it("a name that resolves to loopback at connect time is refused, and nothing is sent", async () => {
    const { result } = await tryDeliver("/rebound", "127.0.0.1", { allowLoopback: false });
    expect(result.outcome).toBe("failed");
    expect(result.error).toBe("refused: rebind.example resolves to a loopback address (127.0.0.1)");
    expect(rx.at("/rebound")).toEqual([]);
  });

  it("private and link-local answers are refused unless the endpoint allows private ones", async () => {
    for (const answer of ["10.1.2.3", "169.254.169.254", "::1", "fd00::1"]) {
      const { result } = await tryDeliver("/private", answer, { allowLoopback: false });
      expect(result.error, answer).toMatch(/^refused: rebind\.example resolves to a /);
    }
    // allowPrivate reaches a private answer (nothing listens there: a network error, not a refusal).
    const reach = await tryDeliver("/private", "10.255.255.1", {
      allowLoopback: false,
      allowPrivate: true,
    });
    expect(reach.result.error ?? "").not.toMatch(/refused: rebind/);
  }, 30_000);

  it("with loopback allowed, it connects to exactly the address it checked (one lookup), Host unchanged", async () => {
    const { result, calls, secret } = await tryDeliver("/allowed", "127.0.0.1", {
      allowLoopback: true,
    });
    expect(result.outcome, result.error ?? "").toBe("succeeded");
    expect(calls).toEqual(["rebind.example"]);
    const [got] = rx.at("/allowed");
    expect(got!.headers.host).toBe(`rebind.example:${new URL(rx.url()).port}`);
    new Webhook(secret).verify(got!.body, got!.headers);
  });

  it("the Node home guards its connections", async () => {
    const t = await createTestApp();
    try {
      expect(t.platform.delivery.connectGuard).toBeTypeOf("function");
    } finally {
      await t.close();
    }
  });
});
