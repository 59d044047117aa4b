import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Unstable_DevWorker, unstable_dev } from "wrangler";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { makeAdmin } from "../../src/core/accounts/users";
import { createDatabase } from "../../src/core/db/client";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { type LibsqlServer, startLibsqlServer } from "../../tools/libsql-server/server";
import { choose, naturalWidth, password, testPng } from "./admin-helpers";
import { type Browser, launchBrowser } from "./browser";

/**
 * The dashboard in the Workers home: wrangler.toml as deployed (the [assets] binding, the worker
 * first for /_/*) in local workerd, the worker reaching libSQL over HTTP as it reaches Turso.
 * The files come through the ASSETS binding, the headers from the same route as in Node.
 */
let dir: string;
let db: LibsqlServer;
let client: Client;
let worker: Unstable_DevWorker;
let base: string;
let browser: Browser;

beforeAll(async () => {
  // No network here: no Request.cf lookup, no telemetry (as .ci/run sets them).
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  if (!existsSync("ui/dist/_/index.html"))
    execFileSync("npx", ["tsx", "scripts/build-ui.ts"], { stdio: "inherit" });
  dir = mkdtempSync(join(tmpdir(), "nearbase-admin-workers-"));
  db = await startLibsqlServer({ path: join(dir, "workers.db") });
  client = createClient({ url: db.url });
  await migrateDatabase(client);
  worker = await unstable_dev("src/platform/workers/main.ts", {
    config: "wrangler.toml",
    ip: "127.0.0.1",
    port: 0,
    inspectorPort: 0,
    logLevel: "error",
    vars: {
      DATABASE_URL: db.url,
      JWT_PRIVATE_KEYS: JSON.stringify([await generateSigningJwk()]),
      PASSWORD_ITERATIONS: "10000",
      RATE_LIMIT_AUTH: "1000/60s",
    },
    experimental: { disableExperimentalWarning: true },
  });
  base = `http://localhost:${worker.port}`;
  browser = await launchBrowser();
  browser.context.setDefaultTimeout(15_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  client?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("serves /_/ through the assets binding with the dashboard's headers", async () => {
  const res = await fetch(`${base}/_/`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/html");
  expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  const html = await res.text();
  const script = /src="(\/_\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(script).toBeDefined();
  const asset = await fetch(`${base}${script}`);
  expect(asset.status).toBe(200);
  expect(asset.headers.get("cache-control")).toContain("immutable");
  expect(asset.headers.get("content-security-policy")).toContain("script-src 'self'");
  const missing = await fetch(`${base}/_/assets/nope.js`);
  expect(missing.status).toBe(404);
  expect(missing.headers.get("content-type")).toContain("application/problem+json");
  // Only /_/ is assets: the API is untouched.
  expect((await fetch(`${base}/health`)).status).toBe(200);
  expect(await (await fetch(`${base}/_/setup.json`)).json()).toEqual({ adminExists: false });
});

it("runs in Chromium: first-run page, then sign-in and the data browser", async () => {
  const page = await browser.page();
  await page.goto(`${base}/_/`);
  await page.getByRole("heading", { name: "Welcome to Nearbase" }).waitFor();

  const email = `workers-admin-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const signup = await fetch(`${base}/api/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, name: "Wanda Workers" }),
  });
  expect(signup.status).toBe(201);
  const { user } = (await signup.json()) as { user: { id: string } };
  await makeAdmin(createDatabase(client), user.id, new Date());

  await page.getByRole("button", { name: /I have created an admin/ }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("tr[data-collection=posts] [data-total]", { hasText: "0" }).waitFor();
  // A reload signs back in through the refresh cookie, in this home too.
  await page.reload();
  await page.getByRole("navigation", { name: "Sections" }).waitFor();
  await page.close();
});

it("creates a record with an image in this home's R2 bucket: thumbnail and download through a token", async () => {
  const page = await browser.page(); // signed in by the previous test's refresh cookie
  const png = await testPng();
  await page.goto(`${base}/_/#/data/attachments/new`);
  await page.getByLabel(/^title/).fill("Made on Workers");
  const images = page.locator("fieldset.files-field", { hasText: "images" });
  await choose(images, { name: "pixel.png", mimeType: "image/png", buffer: png });
  // A multipart POST: the record and its file in one create.
  await page.getByRole("button", { name: "Create" }).click();
  await page.waitForURL(/#\/data\/attachments\/att_/);
  await page.getByRole("status").filter({ hasText: "Created." }).waitFor();
  const thumb = images.locator("li[data-file] img.thumb");
  await expect.poll(() => thumb.evaluate(naturalWidth), { timeout: 15_000 }).toBe(64);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    images.getByRole("button", { name: "Download" }).click(),
  ]);
  expect(Buffer.compare(readFileSync(await download.path()), png)).toBe(0);
  await page.close();
});
