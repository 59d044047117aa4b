import type { Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "../node/webhook-receiver";
import { adminSuite } from "./admin-helpers";

/**
 * The webhooks pages in Chromium against the Node home, delivering to a real receiver on
 * loopback: endpoints (secret shown once), test events with their outcome, deliveries, dead
 * letters (one attempt per delivery here, so a failure dead-letters at once), replay of one
 * delivery and of a time range.
 */
const suite = adminSuite({ WEBHOOK_ALLOW_LOOPBACK: "true", WEBHOOK_MAX_ATTEMPTS: "1" });
let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver();
  suite.s.t.platform.dispatcher.start(); // as the Node home's main.ts does
});
afterAll(async () => {
  await suite.s?.t.platform.dispatcher.stop();
  await rx?.close();
});

async function endpoint(path: string, patterns = ["posts.created"]) {
  const res = await suite.s.t.request("/api/webhooks", {
    method: "POST",
    headers: suite.admin.headers,
    json: { url: rx.url(path), patterns },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; secret: string };
}

async function newPost(title: string) {
  const res = await suite.s.t.request("/api/collections/posts/records", {
    method: "POST",
    headers: suite.admin.headers,
    json: { title, status: "published" },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

const bodiesAt = (path: string) =>
  rx.at(path).map((r) => JSON.parse(r.body) as { type: string; data?: { id?: string } });

const deliveryRows = (page: Page) =>
  page.getByRole("table", { name: "Deliveries" }).locator("tbody tr[data-id]");

describe("admin webhooks", () => {
  it("adds an endpoint, shows its secret once, and sends signed test events showing the outcome", async () => {
    rx.set(() => 204);
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/webhooks`);
    await page.getByLabel("URL").fill(rx.url("/added"));
    await page.getByLabel("Events (comma-separated)").fill("posts.*, comments.created");
    await page.getByRole("button", { name: "Add endpoint" }).click();
    const secret = await page.getByLabel("Signing secret").inputValue();
    expect(secret).toMatch(/^whsec_/);
    const row = page.locator("tr", { hasText: rx.url("/added") });
    expect(await row.locator("td").nth(1).textContent()).toBe("posts.*, comments.created");
    await page.getByRole("button", { name: "I have stored it" }).click();
    expect(await page.getByLabel("Signing secret").count()).toBe(0);

    await row.getByRole("link").click();
    await page.getByRole("button", { name: "Send a test event" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: /^Test event succeeded: HTTP 204 in \d+ ms\.$/ })
      .waitFor();
    const [received] = rx.at("/added");
    expect(received).toBeDefined();
    // Signed per Standard Webhooks with the secret the page showed once.
    const verified = new Webhook(secret).verify(received!.body, received!.headers) as {
      type: string;
    };
    expect(verified.type).toBe("webhook.test");

    rx.set(() => 503);
    await page.getByRole("button", { name: "Send a test event" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: /^Test event failed: HTTP 503/ })
      .waitFor();
    await page.close();
  });

  it("shows a dead letter, filters by status, and replays that delivery", async () => {
    const hook = await endpoint("/dead");
    rx.set((r) => (r.path === "/dead" ? 500 : 204));
    const post = await newPost(`Dead letter ${crypto.randomUUID().slice(0, 6)}`);
    await expect.poll(() => rx.at("/dead").length).toBe(1);

    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/webhooks/${hook.id}`);
    const row = deliveryRows(page).first();
    await expect.poll(() => row.locator("td").nth(1).textContent()).toBe("dead");
    expect(await row.locator("td").nth(0).textContent()).toBe("posts.created");
    expect(await row.locator("td").nth(3).textContent()).toBe("500");
    await page.getByLabel("Status").selectOption("succeeded");
    await page.getByText("No deliveries.").waitFor();
    await page.getByLabel("Status").selectOption("dead");
    await expect.poll(() => deliveryRows(page).count()).toBe(1);

    rx.set(() => 204);
    await deliveryRows(page).first().getByRole("button", { name: "Replay" }).click();
    await page.getByRole("status").filter({ hasText: "Delivery replayed." }).waitFor();
    await expect.poll(() => rx.at("/dead").length).toBe(2);
    expect(bodiesAt("/dead")[1]!.data?.id).toBe(post.id);
    await page.getByLabel("Status").selectOption("succeeded");
    await expect.poll(() => deliveryRows(page).count()).toBe(1);
    await page.getByLabel("Status").selectOption("dead");
    await page.getByText("No deliveries in the dead letters.").waitFor();
    await page.close();
  });

  it("replays a time range: sends the events an endpoint added later never got", async () => {
    rx.set(() => 204);
    const title = `Before the endpoint ${crypto.randomUUID().slice(0, 6)}`;
    const post = await newPost(title);
    const hook = await endpoint("/late");
    const page = await suite.signedInPage();
    await page.goto(`${suite.s.base}/_/#/webhooks/${hook.id}`);
    await page.getByText("No deliveries.").waitFor();
    expect(rx.at("/late")).toHaveLength(0);

    // The form starts an hour ago and runs until now.
    const since = await page.getByLabel("From").inputValue();
    expect(Math.abs(new Date(since).getTime() - (Date.now() - 3_600_000))).toBeLessThan(120_000);
    await page.getByRole("button", { name: "Replay range" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: /due again\.$/ })
      .waitFor();
    await expect.poll(() => bodiesAt("/late").map((b) => b.data?.id)).toContain(post.id);
    expect(bodiesAt("/late").every((b) => b.type === "posts.created")).toBe(true);

    // A range in the future holds nothing.
    await page.getByLabel("From").fill("2099-01-01T00:00");
    await page.getByRole("button", { name: "Replay range" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: "Nothing to replay in that range." })
      .waitFor();
    await page.close();
  });
});
