import * as OTPAuth from "otpauth";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { account, adminSuite, password, signInThroughUi } from "./admin-helpers";
import { addVirtualAuthenticator } from "./browser";

/**
 * After a reload the dashboard's token comes from the refresh cookie and carries no `auth_time`,
 * so creating an API key answers 401 STEP_UP_REQUIRED: the UI asks for the password (or, with
 * two-factor sign-in, a code), steps up at /api/auth/step-up and creates the key. Two-factor
 * admins get the refresh cookie from /api/auth/mfa/verify?cookie=1, so they survive a reload too.
 */
const suite = adminSuite();

const nav = (page: Page) => page.getByRole("navigation", { name: "Sections" });

async function createKey(page: Page, name: string) {
  await page.goto(`${suite.s.base}/_/#/keys`);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create key" }).click();
}

/** The key works with fetch from the page (it is a real key of the signed-in admin). */
async function keyWorks(page: Page) {
  const key = await page.getByLabel("The new API key").inputValue();
  expect(key).toMatch(/^nb_live_/);
  const status = await page.evaluate(
    async (k) =>
      (await fetch("/api/collections/posts/records?limit=1", { headers: { "x-api-key": k } }))
        .status,
    key,
  );
  expect(status).toBe(200);
}

describe("admin dashboard step-up", () => {
  it("asks for the password when a reloaded session creates an API key, and then creates it", async () => {
    const page = await suite.signedInPage();
    await page.reload(); // the token now comes from POST /api/auth/refresh?cookie=1
    await nav(page).waitFor();
    await createKey(page, "after reload");
    const dialog = page.getByRole("dialog", { name: "Confirm it is you" });
    await dialog.waitFor();
    // Nothing was created yet.
    const keys = async () =>
      (
        (await (await suite.s.t.request("/api/keys", { headers: suite.admin.headers })).json()) as {
          items: { name: string }[];
        }
      ).items.map((k) => k.name);
    expect(await keys()).not.toContain("after reload");

    // A wrong password is refused inside the prompt; the session is not ended by it.
    await dialog.getByLabel("Password").fill("not the password");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await dialog.locator(".problem[data-code=UNAUTHENTICATED]").waitFor();
    expect(await dialog.isVisible()).toBe(true);
    expect(await nav(page).isVisible()).toBe(true);

    await dialog.getByLabel("Password").fill(password);
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await dialog.waitFor({ state: "hidden" });
    await keyWorks(page);
    expect(await keys()).toContain("after reload");
    await page.close();
  });

  it("leaves the action refused, and the admin signed in, when the prompt is cancelled", async () => {
    const page = await suite.signedInPage();
    await page.reload();
    await nav(page).waitFor();
    await createKey(page, "cancelled");
    const dialog = page.getByRole("dialog", { name: "Confirm it is you" });
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await page.locator(".problem[data-code=STEP_UP_REQUIRED]").waitFor();
    expect(await nav(page).isVisible()).toBe(true);
    await page.close();
  });

  it("signs a two-factor admin in with a code, keeps them signed in across a reload, and steps up with a code", async () => {
    const admin = await account(suite.s.t, "admin");
    const headers = admin.headers;
    const enroll = await suite.s.t.request("/api/auth/mfa/totp/enroll", {
      method: "POST",
      headers,
    });
    expect(enroll.status).toBe(200);
    const totp = OTPAuth.URI.parse(((await enroll.json()) as { uri: string }).uri) as OTPAuth.TOTP;
    // Each code works once and only later steps pass (±1 step of drift): confirm with the
    // previous step, sign in with this one, step up with the next.
    const codeAt = (steps: number) => totp.generate({ timestamp: Date.now() + steps * 30_000 });
    const confirm = await suite.s.t.request("/api/auth/mfa/totp/confirm", {
      method: "POST",
      headers,
      json: { code: codeAt(-1) },
    });
    expect(confirm.status).toBe(200);

    const page = await suite.browser.page();
    await page.goto(`${suite.s.base}/_/`);
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByLabel("Authenticator or recovery code").fill(codeAt(0));
    await page.getByRole("button", { name: "Verify" }).click();
    await nav(page).waitFor();
    const cookies = await suite.browser.context.cookies(`${suite.s.base}/api/auth/refresh`);
    expect(cookies.find((c) => c.name === "nb_refresh")).toMatchObject({ httpOnly: true });
    expect(await page.evaluate<string>("document.cookie")).toBe("");

    await page.reload();
    await nav(page).waitFor();
    expect(await page.getByText(admin.email).isVisible()).toBe(true);

    await createKey(page, "two-factor key");
    const dialog = page.getByRole("dialog", { name: "Confirm it is you" });
    await dialog.getByLabel("Authenticator code").fill(codeAt(1));
    expect(await dialog.getByLabel("Password").count()).toBe(0);
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await dialog.waitFor({ state: "hidden" });
    await keyWorks(page);
    await page.close();
  });

  it("offers a passkey to an admin who has one, and steps up with it (Chromium's virtual authenticator)", async () => {
    const admin = await account(suite.s.t, "admin");
    const page = await suite.browser.page();
    const { cdp, authenticatorId } = await addVirtualAuthenticator(suite.browser, page);
    await signInThroughUi(page, suite.s.base, admin.email);
    // A passkey for the account, made by the browser on the dashboard's origin (rpId localhost).
    const registered = await page.evaluate(
      async ({ token }) => {
        const post = async (path: string, body: unknown) => {
          const res = await fetch(path, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: JSON.stringify(body),
          });
          return { status: res.status, body: await res.json() };
        };
        // A cast: the test files are type-checked without the DOM library.
        const g = globalThis as unknown as {
          PublicKeyCredential: { parseCreationOptionsFromJSON(o: unknown): unknown };
          navigator: { credentials: { create(o: unknown): Promise<{ toJSON(): unknown }> } };
        };
        const options = await post("/api/auth/passkeys/register/options", { name: "laptop" });
        const credential = await g.navigator.credentials.create({
          publicKey: g.PublicKeyCredential.parseCreationOptionsFromJSON(options.body),
        });
        return (await post("/api/auth/passkeys/register", credential.toJSON())).status;
      },
      { token: admin.accessToken },
    );
    expect(registered).toBe(201);

    await page.reload(); // the token now comes from the refresh cookie: no auth_time
    await nav(page).waitFor();
    await createKey(page, "passkey step-up");
    const dialog = page.getByRole("dialog", { name: "Confirm it is you" });
    await dialog.getByRole("button", { name: "Use a passkey" }).click();
    await dialog.waitFor({ state: "hidden" });
    await keyWorks(page);
    // The authenticator signed once more (its counter moved on) for the step-up.
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.signCount).toBeGreaterThanOrEqual(1);
    await page.close();
  });
});
