import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Locator, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { makeAdmin } from "../../src/core/accounts/users";
import { createTestApp, type TestApp } from "../harness";
import { type Browser, launchBrowser } from "./browser";

/**
 * The admin dashboard's end-to-end tests run the Node home on a real socket (the browser needs
 * one), with the UI as `npm run build:ui` builds it (prepare/prestart; the tests build it when
 * it is missing). `http://localhost` is a secure context for Chromium, so the Secure refresh
 * cookie works as it does behind HTTPS.
 */
export interface AdminServer {
  t: TestApp;
  base: string;
  close(): Promise<void>;
}

export async function startServer(env: Record<string, string> = {}): Promise<AdminServer> {
  type Listener = (...args: Parameters<ReturnType<typeof getRequestListener>>) => unknown;
  let listener: Listener = (_req, res) => res.end();
  const server = createServer((req, res) => {
    listener(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://localhost:${(server.address() as AddressInfo).port}`;
  const t = await createTestApp({
    env: {
      PUBLIC_URL: base,
      PASSWORD_ITERATIONS: "10000",
      WEBHOOK_SECRET_KEY: "k".repeat(40),
      ...env,
    },
  });
  listener = getRequestListener(t.app.fetch);
  return {
    t,
    base,
    async close() {
      await t.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export const password = "correct horse battery staple";

/** An account with a password, signed up through the API; `admin` promotes it as admin:create does. */
export async function account(t: TestApp, role: "user" | "admin", userAgent = "e2e-setup") {
  const email = `${role}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const res = await t.request("/api/auth/signup", {
    method: "POST",
    headers: { "user-agent": userAgent },
    json: { email, password, name: role === "admin" ? "Ada Admin" : "Uma User" },
  });
  if (res.status !== 201) throw new Error(`signup: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as {
    user: { id: string };
    accessToken: string;
    refreshToken: string;
  };
  if (role === "admin") await makeAdmin(t.platform.db, body.user.id, new Date());
  // A fresh token: the sign-up's was issued with the old role.
  const login = await t.request("/api/auth/login", {
    method: "POST",
    headers: { "user-agent": userAgent },
    json: { email, password },
  });
  const pair = (await login.json()) as {
    accessToken: string;
    refreshToken: string;
    sessionId: string;
  };
  return {
    id: body.user.id,
    email,
    ...pair,
    headers: { authorization: `Bearer ${pair.accessToken}` },
  };
}

/** Signs in through the dashboard's form and waits for the navigation to show. */
export async function signInThroughUi(page: Page, base: string, email: string) {
  await page.goto(`${base}/_/`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Sections" }).waitFor();
}

/** Collects what the page logs as errors (CSP violations show up here). */
export function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

export type Account = Awaited<ReturnType<typeof account>>;

/**
 * One server, one admin and one browser for a test file: the hooks are registered here, the
 * returned object's fields are set once `beforeAll` ran. Each test starts signed out.
 */
export function adminSuite(env: Record<string, string> = {}) {
  const suite = {} as {
    s: AdminServer;
    browser: Browser;
    admin: Account;
    /** A new tab signed in as the suite's admin through the sign-in form. */
    signedInPage(): Promise<Page>;
  };
  beforeAll(async () => {
    if (!existsSync("ui/dist/_/index.html"))
      execFileSync("npx", ["tsx", "scripts/build-ui.ts"], { stdio: "inherit" });
    suite.s = await startServer(env);
    suite.admin = await account(suite.s.t, "admin");
    suite.browser = await launchBrowser();
    suite.browser.context.setDefaultTimeout(10_000);
    suite.signedInPage = async () => {
      const page = await suite.browser.page();
      await signInThroughUi(page, suite.s.base, suite.admin.email);
      return page;
    };
  });
  beforeEach(() => suite.browser.context.clearCookies());
  afterAll(async () => {
    await suite.browser?.close();
    await suite.s?.close();
  });
  return suite;
}

/** A 64×48 PNG, for uploads. */
export const testPng = () =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: "#c0392b" } })
    .png()
    .toBuffer();

/** Picks a file in a file field's input: it is listed as uploaded on save. */
export async function choose(
  field: Locator,
  file: { name: string; mimeType: string; buffer: Buffer },
) {
  await field.locator("input[type=file]").setInputFiles(file);
  await field.getByText(`${file.name}`).waitFor();
  await field.getByText("uploaded on save").waitFor();
}

/** A loaded image's width in pixels; 0 while (or when failing) to load. */
export const naturalWidth = (img: unknown) => (img as { naturalWidth: number }).naturalWidth;
