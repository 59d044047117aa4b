import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../harness";
import { addVirtualAuthenticator, type Browser, launchBrowser } from "./browser";

/**
 * Passkeys end to end: Chromium's own WebAuthn (the CDP virtual authenticator) against the Node
 * home on a real socket, through the development test page (/dev/passkeys). The server verifies
 * what the browser made — nothing is mocked. Server-side refusals (origin, RP ID, replay,
 * counter, another account) are in test/conformance/passkeys.suite.ts, in both homes.
 */
let t: TestApp;
let browser: Browser;
let base: string;
let page: Page;
let cdp: Awaited<ReturnType<typeof addVirtualAuthenticator>>;
type Listener = (...args: Parameters<ReturnType<typeof getRequestListener>>) => unknown;
let listener: Listener = (_req, res) => res.end();
const server = createServer((req, res) => {
  listener(req, res);
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://localhost:${(server.address() as AddressInfo).port}`;
  t = await createTestApp({
    env: { PUBLIC_URL: base, PASSKEY_TEST_PAGE: "true", PASSWORD_ITERATIONS: "10000" },
  });
  listener = getRequestListener(t.app.fetch);
  browser = await launchBrowser();
  page = await browser.page();
  cdp = await addVirtualAuthenticator(browser, page);
  await page.goto(`${base}/dev/passkeys`);
  await page.waitForSelector("body[data-ready=true]");
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
  await new Promise((r) => server.close(r));
});

type Answer = { status: number; body: Record<string, unknown> };
const inPage = (script: string) => page.evaluate(script) as Promise<Answer>;

describe("passkeys in Chromium", () => {
  it("signs up without a password, then signs in with the discoverable passkey", async () => {
    const email = `e2e-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const up = await inPage(`nb.signUp(${JSON.stringify(email)})`);
    expect(up.status, JSON.stringify(up.body)).toBe(201);
    const user = up.body.user as { id: string; email: string };
    expect(user.email).toBe(email);

    const { credentials } = await cdp.cdp.send("WebAuthn.getCredentials", {
      authenticatorId: cdp.authenticatorId,
    });
    expect(credentials.some((c) => c.isResidentCredential && c.rpId === "localhost")).toBe(true);

    const signIn = await inPage("nb.signIn()");
    expect(signIn.status, JSON.stringify(signIn.body)).toBe(200);
    expect((signIn.body.user as { id: string }).id).toBe(user.id);
    const me = await t.request("/api/auth/me", {
      headers: { authorization: `Bearer ${signIn.body.accessToken}` },
    });
    expect(me.status).toBe(200);
    const [row] = (
      await t.client.execute({
        sql: "SELECT sign_count FROM nb_passkeys WHERE user_id = ?",
        args: [user.id],
      })
    ).rows;
    expect(Number(row!.sign_count)).toBeGreaterThan(0);
  });

  it("registers a passkey for a password account and signs in with it by email", async () => {
    const email = `e2e-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const res = await t.request("/api/auth/signup", {
      method: "POST",
      json: { email, password: "correct horse battery staple" },
    });
    const { accessToken, user } = (await res.json()) as {
      accessToken: string;
      user: { id: string };
    };
    const registered = await inPage(`nb.register(${JSON.stringify(accessToken)}, "Chromium")`);
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body.name).toBe("Chromium");

    const signIn = await inPage(`nb.signIn(${JSON.stringify(email)})`);
    expect(signIn.status, JSON.stringify(signIn.body)).toBe(200);
    expect((signIn.body.user as { id: string }).id).toBe(user.id);
  });

  it("is refused once the server forgets the passkeys (the browser still has them)", async () => {
    await t.client.execute("DELETE FROM nb_passkeys");
    const { credentials } = await cdp.cdp.send("WebAuthn.getCredentials", {
      authenticatorId: cdp.authenticatorId,
    });
    expect(credentials.length).toBeGreaterThan(0);
    const signIn = await inPage("nb.signIn()");
    expect(signIn.status).toBe(401);
    expect(signIn.body.code).toBe("UNAUTHENTICATED");
  });
});
