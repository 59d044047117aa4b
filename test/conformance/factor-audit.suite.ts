import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDataKey } from "../../src/core/kernel/seal";
import { bearer, freshEmail, signup, strong } from "./auth-helpers";
import { type Home, type MakeHome, readProblem } from "./home";
import { SoftAuthenticator } from "./soft-authenticator";

/**
 * Audit entries for changes to an account's sign-in factors, in every home: TOTP on and off,
 * recovery codes regenerated, passkeys added (signed in, and at a passwordless sign-up) and
 * removed, step-ups — each entry naming the account (and the passkey or session), never a
 * secret, and written with the change (a refused change writes none).
 */
export function defineFactorAuditSuite(makeHome: MakeHome) {
  const origin = "http://localhost:8787";
  let t: Home;
  beforeAll(async () => {
    t = await makeHome({
      env: { PUBLIC_URL: origin, DATA_ENCRYPTION_KEYS: JSON.stringify([generateDataKey()]) },
    });
  });
  afterAll(() => t.close());

  interface Entry {
    action: string;
    actor: string;
    target: string | null;
    outcome: string;
    details: Record<string, unknown>;
  }
  const entries = async (subject: string): Promise<Entry[]> =>
    (
      await t.sql(
        "SELECT action, actor, target, outcome, details FROM nb_audit_log WHERE subject = ? AND action NOT IN ('auth.sign_in', 'auth.sign_in_failed') ORDER BY id",
        [subject],
      )
    ).map((r) => ({
      action: String(r.action),
      actor: String(r.actor),
      target: r.target === null ? null : String(r.target),
      outcome: String(r.outcome),
      details: JSON.parse(String(r.details)) as Record<string, unknown>,
    }));

  const post = (path: string, headers: Record<string, string>, json?: unknown) =>
    t.request(path, { method: "POST", headers, ...(json === undefined ? {} : { json }) });

  describe("audit entries for sign-in factor changes", () => {
    it("TOTP on, recovery codes regenerated, step-up, TOTP off: one entry each, no secrets", async () => {
      const account = await signup(t, freshEmail("audit-totp"));
      const headers = bearer(account.accessToken);
      const enrol = await post("/api/auth/mfa/totp/enroll", headers);
      expect(enrol.status).toBe(200);
      const { secret, uri } = (await enrol.json()) as { secret: string; uri: string };
      const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
      const at = (steps: number) => totp.generate({ timestamp: Date.now() + steps * 30_000 });

      // A wrong first code changes nothing and writes nothing.
      const wrong = await post("/api/auth/mfa/totp/confirm", headers, { code: "000000" });
      expect(wrong.status).toBeGreaterThanOrEqual(400);
      expect(await entries(account.user.id)).toEqual([]);

      const confirm = await post("/api/auth/mfa/totp/confirm", headers, { code: at(-1) });
      expect(confirm.status).toBe(200);
      const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
      const regen = await post("/api/auth/mfa/recovery-codes", headers, { code: at(0) });
      expect(regen.status, await regen.clone().text()).toBe(200);
      const fresh = (await regen.json()) as { recoveryCodes: string[] };
      const stepUp = await post("/api/auth/step-up", headers, { code: at(1) });
      expect(stepUp.status, await stepUp.clone().text()).toBe(200);
      const off = await post("/api/auth/mfa/totp/disable", headers, {
        code: fresh.recoveryCodes[0],
      });
      expect(off.status, await off.clone().text()).toBe(204);

      const log = await entries(account.user.id);
      expect(log.map((e) => e.action)).toEqual([
        "auth.totp_enabled",
        "auth.recovery_codes_regenerated",
        "auth.step_up",
        "auth.totp_disabled",
      ]);
      for (const e of log) {
        expect(e.actor).toBe(`user:${account.user.id}`);
        expect(e.outcome).toBe("ok");
      }
      expect(log[1]!.details).toEqual({ count: fresh.recoveryCodes.length });
      expect(log[2]).toMatchObject({ target: account.sessionId, details: { method: "totp" } });
      const text = JSON.stringify(log);
      for (const secretValue of [secret, ...recoveryCodes, ...fresh.recoveryCodes, at(0)])
        expect(text).not.toContain(secretValue);
    });

    it("passkey added (signed in and at sign-up) and removed, step-up by password and by passkey", async () => {
      const account = await signup(t, freshEmail("audit-pk"));
      const headers = bearer(account.accessToken);
      const authenticator = new SoftAuthenticator(origin);
      const options = async (path: string, json: unknown, h: Record<string, string> = {}) => {
        const res = await post(`/api/auth/passkeys${path}`, h, json);
        expect(res.status, await res.clone().text()).toBe(200);
        return (await res.json()) as Record<string, unknown>;
      };
      const created = await options("/register/options", { name: "Laptop" }, headers);
      const added = await post(
        "/api/auth/passkeys/register",
        headers,
        await authenticator.register(created),
      );
      expect(added.status).toBe(201);
      const passkey = (await added.json()) as { id: string };

      const byPassword = await post("/api/auth/step-up", headers, { password: strong });
      expect(byPassword.status).toBe(200);
      const stepUpOptions = await post("/api/auth/step-up/passkey/options", headers);
      expect(stepUpOptions.status, await stepUpOptions.clone().text()).toBe(200);
      const byPasskey = await post(
        "/api/auth/step-up/passkey",
        headers,
        await authenticator.assert((await stepUpOptions.json()) as Record<string, unknown>),
      );
      expect(byPasskey.status, await byPasskey.clone().text()).toBe(200);

      // Someone else's passkey id removes nothing and writes nothing.
      const other = await signup(t, freshEmail("audit-other"));
      const notMine = await t.request(`/api/auth/passkeys/${passkey.id}`, {
        method: "DELETE",
        headers: bearer(other.accessToken),
      });
      expect(notMine.status).toBe(404);
      await readProblem(notMine);
      expect(await entries(other.user.id)).toEqual([]);

      const removed = await t.request(`/api/auth/passkeys/${passkey.id}`, {
        method: "DELETE",
        headers,
      });
      expect(removed.status).toBe(204);
      const log = await entries(account.user.id);
      expect(log.map((e) => [e.action, e.target, e.details])).toEqual([
        ["auth.passkey_added", passkey.id, {}],
        ["auth.step_up", account.sessionId, { method: "password" }],
        ["auth.step_up", account.sessionId, { method: "passkey" }],
        ["auth.passkey_removed", passkey.id, {}],
      ]);

      // A passwordless sign-up's passkey is an added factor too, in the account's creation batch.
      const signUp = await options("/sign-up/options", { email: freshEmail("audit-nopw") });
      const res = await post(
        "/api/auth/passkeys/sign-up",
        {},
        await new SoftAuthenticator(origin).register(signUp),
      );
      expect(res.status, await res.clone().text()).toBe(201);
      const { user } = (await res.json()) as { user: { id: string } };
      expect((await entries(user.id)).map((e) => [e.action, e.details])).toEqual([
        ["auth.passkey_added", { signUp: true }],
      ]);
    });

    it("GET /api/admin/users/:id shows the account's sign-in methods, never their secrets", async () => {
      const admin = await t.signIn("admin");
      const methodsOf = async (id: string) => {
        const res = await t.request(`/api/admin/users/${id}`, { headers: admin.headers });
        expect(res.status, await res.clone().text()).toBe(200);
        const body = (await res.json()) as Record<string, unknown>;
        return { body, methods: body.methods };
      };
      const account = await signup(t, freshEmail("admin-view"));
      expect((await methodsOf(account.user.id)).methods).toEqual({
        password: true,
        totp: false,
        totpEnabledAt: null,
        recoveryCodesLeft: 0,
        passkeys: 0,
        oauthProviders: [],
      });

      const headers = bearer(account.accessToken);
      const enrol = await post("/api/auth/mfa/totp/enroll", headers);
      const { secret, uri } = (await enrol.json()) as { secret: string; uri: string };
      // A pending enrolment is not two-factor sign-in.
      expect((await methodsOf(account.user.id)).methods).toMatchObject({ totp: false });
      const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
      const confirm = await post("/api/auth/mfa/totp/confirm", headers, {
        code: totp.generate({ timestamp: Date.now() - 30_000 }),
      });
      const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
      const authenticator = new SoftAuthenticator(origin);
      for (const name of ["Laptop", "Phone"]) {
        const created = await post("/api/auth/passkeys/register/options", headers, { name });
        const res = await post(
          "/api/auth/passkeys/register",
          headers,
          await authenticator.register((await created.json()) as Record<string, unknown>),
        );
        expect(res.status).toBe(201);
      }
      const at = new Date().toISOString();
      for (const [provider, sub] of [
        ["github", "gh-1"],
        ["apple", "ap-1"],
        ["apple", "ap-2"],
      ]) {
        await t.sql(
          "INSERT INTO nb_oauth_accounts (provider, provider_user_id, user_id, created) VALUES (?, ?, ?, ?)",
          [provider!, `${sub}-${account.user.id}`, account.user.id, at],
        );
      }
      const { body, methods } = await methodsOf(account.user.id);
      expect(methods).toMatchObject({
        password: true,
        totp: true,
        recoveryCodesLeft: recoveryCodes.length,
        passkeys: 2,
        oauthProviders: ["apple", "github"],
      });
      expect(typeof (methods as { totpEnabledAt: unknown }).totpEnabledAt).toBe("string");
      const text = JSON.stringify(body);
      for (const secretValue of [secret, ...recoveryCodes]) expect(text).not.toContain(secretValue);
      expect(text).not.toMatch(/passwordHash|password_hash|publicKey|pbkdf2|scrypt/);

      // Not for anyone but admins.
      const self = await t.request(`/api/admin/users/${account.user.id}`, { headers });
      expect(self.status).toBe(403);
    });
  });
}
