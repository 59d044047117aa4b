import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDataKey } from "../../src/core/kernel/seal";
import { bearer, createKey, freshEmail, refresh, signup, strong } from "./auth-helpers";
import { fakeOidcClient } from "./fake-oidc-client";
import { type Home, type MakeHome, readProblem, unique } from "./home";
import { SoftAuthenticator } from "./soft-authenticator";

/**
 * TOTP two-factor sign-in over HTTP in every home. Codes come from `otpauth`, an implementation
 * independent of the server's (@oslojs/otp): enrol, confirm, password (and mailed-code) sign-in
 * answering mfa_required, the ticket + code, replay refused, recovery codes single use and
 * regenerable, disabling, the ticket's attempt cap and per-account throttling, and the key sealed
 * at rest. Then every other first factor (OAuth against the loopback OIDC fake at `fakesUrl`,
 * passkeys under PASSKEY_SATISFIES_MFA) and step-up: sensitive actions refuse a token whose
 * `auth_time` is old or absent (a refreshed one) with 401 STEP_UP_REQUIRED, until the session
 * steps up with a code, a password (accounts without a second factor) or a passkey.
 */
export function defineTotpSuite(makeHome: MakeHome, fakesUrl: () => Promise<string>) {
  const dataKeys = JSON.stringify([generateDataKey()]);
  let t: Home;
  beforeAll(async () => {
    t = await makeHome({ env: { DATA_ENCRYPTION_KEYS: dataKeys } });
  });
  afterAll(() => t.close());

  /** The code `totp` shows `steps` periods from now. */
  const codeAt = (totp: OTPAuth.TOTP, steps: number) =>
    totp.generate({ timestamp: Date.now() + steps * 30_000 });

  const login = async (h: Home, email: string) => {
    const res = await h.request("/api/auth/login", {
      method: "POST",
      json: { email, password: strong },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const verify = (h: Home, mfaTicket: unknown, code: string) =>
    h.request("/api/auth/mfa/verify", { method: "POST", json: { mfaTicket, code } });

  /** A password account with TOTP on (confirmed with the previous period's code). */
  async function enrolled(h: Home = t) {
    const account = await signup(h, freshEmail("totp"));
    const headers = bearer(account.accessToken);
    const res = await h.request("/api/auth/mfa/totp/enroll", { method: "POST", headers });
    expect(res.status, await res.clone().text()).toBe(200);
    const { secret, uri } = (await res.json()) as { secret: string; uri: string };
    const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
    expect(totp.secret.base32).toBe(secret);
    const confirm = await h.request("/api/auth/mfa/totp/confirm", {
      method: "POST",
      headers,
      json: { code: codeAt(totp, -1) },
    });
    expect(confirm.status, await confirm.clone().text()).toBe(200);
    const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
    return { account, headers, totp, secret, uri, recoveryCodes };
  }

  describe("TOTP two-factor sign-in", () => {
    it("enrols with an otpauth:// URI, keeps the key sealed, and confirms with a first code", async () => {
      const account = await signup(t, freshEmail("totpe"));
      const headers = bearer(account.accessToken);
      const res = await t.request("/api/auth/mfa/totp/enroll", { method: "POST", headers });
      const { secret, uri } = (await res.json()) as { secret: string; uri: string };
      expect(uri).toMatch(/^otpauth:\/\/totp\//);
      const parsed = new URL(uri);
      expect(parsed.searchParams.get("issuer")).toBe("Nearbase");
      expect(parsed.searchParams.get("secret")).toBe(secret);
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const [row] = await t.sql("SELECT secret, enabled_at FROM nb_totp WHERE user_id = ?", [
        account.user.id,
      ]);
      expect(String(row!.secret)).toMatch(/^nb1\./);
      expect(String(row!.secret)).not.toContain(secret);
      expect(row!.enabled_at).toBeNull();
      // Not on until confirmed: a password sign-in still gives tokens.
      expect((await login(t, account.email)).accessToken).toBeTruthy();

      const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP;
      const wrong = await t.request("/api/auth/mfa/totp/confirm", {
        method: "POST",
        headers,
        json: { code: String((Number(codeAt(totp, 0)) + 1) % 1_000_000).padStart(6, "0") },
      });
      expect(wrong.status).toBe(401);
      const ok = await t.request("/api/auth/mfa/totp/confirm", {
        method: "POST",
        headers,
        json: { code: codeAt(totp, 0) },
      });
      expect(ok.status).toBe(200);
      const { recoveryCodes } = (await ok.json()) as { recoveryCodes: string[] };
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      const status = await t.request("/api/auth/mfa", { headers });
      expect(await status.json()).toMatchObject({ totp: true, recoveryCodesLeft: 10 });
      // A second enrolment while on is refused.
      const again = await t.request("/api/auth/mfa/totp/enroll", { method: "POST", headers });
      expect(again.status).toBe(409);
    });

    it("answers a password sign-in with mfa_required; the ticket and a code give tokens, once", async () => {
      const { account, totp } = await enrolled();
      const first = await login(t, account.email);
      expect(first).toMatchObject({ status: "mfa_required", methods: ["totp", "recovery_code"] });
      expect(first.accessToken).toBeUndefined();
      const code = codeAt(totp, 0);
      const ok = await verify(t, first.mfaTicket, code);
      expect(ok.status, await ok.clone().text()).toBe(200);
      const tokens = (await ok.json()) as { accessToken: string; user: { id: string } };
      expect(tokens.user.id).toBe(account.user.id);
      expect(
        (await t.request("/api/auth/me", { headers: bearer(tokens.accessToken) })).status,
      ).toBe(200);
      // The ticket is spent; the same code on a new ticket is a replay.
      expect((await verify(t, first.mfaTicket, codeAt(totp, 1))).status).toBe(401);
      const second = await login(t, account.email);
      const replay = await verify(t, second.mfaTicket, code);
      expect(replay.status).toBe(401);
      expect((await readProblem(replay)).code).toBe("UNAUTHENTICATED");
      // …and an older period's code too (only later steps pass).
      expect((await verify(t, second.mfaTicket, codeAt(totp, -1))).status).toBe(401);
      expect((await verify(t, second.mfaTicket, codeAt(totp, 1))).status).toBe(200);
    });

    it("takes each recovery code once, and replaces them as a set", async () => {
      const { account, headers, recoveryCodes } = await enrolled();
      const [one, two] = recoveryCodes;
      const a = await login(t, account.email);
      expect((await verify(t, a.mfaTicket, one!.toUpperCase())).status).toBe(200);
      const b = await login(t, account.email);
      expect((await verify(t, b.mfaTicket, one!)).status).toBe(401);
      const fresh = await t.request("/api/auth/mfa/recovery-codes", {
        method: "POST",
        headers,
        json: { code: two },
      });
      expect(fresh.status).toBe(200);
      const { recoveryCodes: next } = (await fresh.json()) as { recoveryCodes: string[] };
      const c = await login(t, account.email);
      expect((await verify(t, c.mfaTicket, recoveryCodes[2]!)).status).toBe(401);
      expect((await verify(t, c.mfaTicket, next[0]!)).status).toBe(200);
      const rows = await t.sql("SELECT hash FROM nb_recovery_codes WHERE user_id = ?", [
        account.user.id,
      ]);
      expect(JSON.stringify(rows)).not.toContain(next[1]!);
    });

    it("caps attempts per ticket", async () => {
      const { account, totp } = await enrolled();
      const ticket = (await login(t, account.email)).mfaTicket;
      for (let i = 0; i < 5; i++) expect((await verify(t, ticket, "000000")).status).toBe(401);
      expect((await verify(t, ticket, codeAt(totp, 0))).status).toBe(401);
      // Each wrong code is in the audit log (the attempt past the cap never reached a code).
      const entries = await t.sql(
        "SELECT outcome, details FROM nb_audit_log WHERE action = 'auth.sign_in_failed' AND subject = ?",
        [account.user.id],
      );
      expect(entries).toHaveLength(5);
      expect(JSON.parse(String(entries[0]!.details))).toEqual({
        method: "totp",
        firstFactor: "password",
        reason: "wrong_code",
      });
    });

    it("asks mailed-code sign-ins for the second factor too", async () => {
      const { account, totp } = await enrolled();
      await t.request("/api/auth/otp/request", { method: "POST", json: { email: account.email } });
      const mail = (await t.mail(account.email.toLowerCase())).at(-1);
      const code = /code is (\d{8})/.exec(mail?.text ?? "")?.[1];
      const otpId = /otp=(otp_\w+)/.exec(mail?.text ?? "")?.[1];
      const res = await t.request("/api/auth/otp/verify", {
        method: "POST",
        json: { otpId, code },
      });
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.status).toBe("mfa_required");
      expect((await verify(t, body.mfaTicket, codeAt(totp, 0))).status).toBe(200);
    });

    it("turns off with a current code; sign-in gives tokens again", async () => {
      const { account, headers, totp } = await enrolled();
      const bad = await t.request("/api/auth/mfa/totp/disable", {
        method: "POST",
        headers,
        json: { code: "abcde-fghij" },
      });
      expect(bad.status).toBe(401);
      const off = await t.request("/api/auth/mfa/totp/disable", {
        method: "POST",
        headers,
        json: { code: codeAt(totp, 0) },
      });
      expect(off.status).toBe(204);
      expect((await login(t, account.email)).accessToken).toBeTruthy();
      expect(await t.sql("SELECT 1 FROM nb_totp WHERE user_id = ?", [account.user.id])).toEqual([]);
    });

    it("refuses malformed input and anonymous callers", async () => {
      expect((await t.request("/api/auth/mfa/totp/enroll", { method: "POST" })).status).toBe(401);
      const { headers } = await enrolled();
      for (const [path, json, field] of [
        ["/mfa/totp/confirm", { code: "12345" }, "/code"],
        ["/mfa/verify", { code: "123456" }, "/mfaTicket"],
        ["/mfa/totp/disable", { code: 5 }, "/code"],
      ] as const) {
        const res = await t.request(`/api/auth${path}`, { method: "POST", headers, json });
        expect(res.status, path).toBe(400);
        expect((await readProblem(res)).errors?.map((e) => e.path)).toContain(field);
      }
    });
  });

  describe("TOTP: throttling per account", () => {
    let strict: Home;
    beforeAll(async () => {
      strict = await makeHome({
        env: { DATA_ENCRYPTION_KEYS: dataKeys, LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "4/1h" },
      });
    });
    afterAll(() => strict.close());

    it("throttles second-factor checks per account, whatever the ticket", async () => {
      const { account } = await enrolled(strict);
      // confirm spent one check; three wrong codes on two tickets use the rest.
      const a = await login(strict, account.email);
      for (let i = 0; i < 2; i++)
        expect((await verify(strict, a.mfaTicket, "000000")).status).toBe(401);
      const b = await login(strict, account.email);
      expect((await verify(strict, b.mfaTicket, "000000")).status).toBe(401);
      const res = await verify(strict, b.mfaTicket, "000000");
      expect(res.status).toBe(429);
      expect((await readProblem(res)).code).toBe("RATE_LIMITED");
    });
  });

  /** An access token of the same session without `auth_time`, as a refresh gives it. */
  async function staleToken(h: Home, refreshToken: string) {
    const res = await refresh(h, refreshToken);
    expect(res.status).toBe(200);
    return ((await res.json()) as { accessToken: string }).accessToken;
  }

  async function expectStepUpRequired(res: Response) {
    expect(res.status, await res.clone().text()).toBe(401);
    expect((await readProblem(res)).code).toBe("STEP_UP_REQUIRED");
    expect(res.headers.get("www-authenticate")).toMatch(
      /error="insufficient_user_authentication", max_age=600/,
    );
  }

  const stepUp = (h: Home, token: string, json: unknown) =>
    h.request("/api/auth/step-up", { method: "POST", headers: bearer(token), json });

  describe("step-up (recent authentication)", () => {
    it("refuses sensitive actions to a refreshed token until it steps up with the password", async () => {
      const account = await signup(t, freshEmail("stepup"));
      // A fresh sign-in is recent: a key can be made at once.
      expect((await createKey(t, account.accessToken)).status).toBe(201);
      const stale = await staleToken(t, account.refreshToken);
      expect((await t.request("/api/auth/me", { headers: bearer(stale) })).status).toBe(200);
      await expectStepUpRequired(await createKey(t, stale));
      await expectStepUpRequired(
        await t.request("/api/auth/mfa/totp/enroll", { method: "POST", headers: bearer(stale) }),
      );
      await expectStepUpRequired(
        await t.request("/api/auth/passkeys/register/options", {
          method: "POST",
          headers: bearer(stale),
          json: {},
        }),
      );

      const wrong = await stepUp(t, stale, { password: "not the password at all" });
      expect(wrong.status).toBe(401);
      expect((await readProblem(wrong)).code).toBe("UNAUTHENTICATED");
      const ok = await stepUp(t, stale, { password: strong });
      expect(ok.status, await ok.clone().text()).toBe(200);
      expect(ok.headers.get("cache-control")).toBe("no-store");
      const { accessToken } = (await ok.json()) as { accessToken: string };
      expect((await createKey(t, accessToken)).status).toBe(201);
      // Same session: the session list still shows one, and it is the caller's.
      const sessions = await t.request("/api/auth/sessions", { headers: bearer(accessToken) });
      expect(((await sessions.json()) as { items: unknown[] }).items).toHaveLength(1);
    });

    it("takes an authenticator code, not the password, once two-factor sign-in is on; a code once", async () => {
      const { account, totp } = await enrolled();
      const stale = await staleToken(t, account.refreshToken);
      await expectStepUpRequired(
        await t.request("/api/auth/mfa/totp/disable", {
          method: "POST",
          headers: bearer(stale),
          json: { code: codeAt(totp, 0) },
        }),
      );
      const byPassword = await stepUp(t, stale, { password: strong });
      expect(byPassword.status).toBe(400);
      expect((await readProblem(byPassword)).errors?.map((e) => e.path)).toEqual(["/code"]);
      const code = codeAt(totp, 0);
      const ok = await stepUp(t, stale, { code });
      expect(ok.status, await ok.clone().text()).toBe(200);
      // The same code again is a replay.
      expect((await stepUp(t, stale, { code })).status).toBe(401);
      const { accessToken } = (await ok.json()) as { accessToken: string };
      const off = await t.request("/api/auth/mfa/totp/disable", {
        method: "POST",
        headers: bearer(accessToken),
        json: { code: codeAt(totp, 1) },
      });
      expect(off.status, await off.clone().text()).toBe(204);
    });

    it("changes the password after a recent sign-in only, ending the other sessions", async () => {
      const account = await signup(t, freshEmail("chpw"));
      const change = (token: string, password: string) =>
        t.request("/api/auth/password/change", {
          method: "POST",
          headers: bearer(token),
          json: { password },
        });
      const next = "another long passphrase 42";
      await expectStepUpRequired(await change(await staleToken(t, account.refreshToken), next));
      const other = await t.request("/api/auth/login", {
        method: "POST",
        json: { email: account.email, password: strong },
      });
      const otherRefresh = ((await other.json()) as { refreshToken: string }).refreshToken;
      const weak = await change(account.accessToken, "password");
      expect(weak.status).toBe(400);
      expect((await readProblem(weak)).errors?.map((e) => e.path)).toEqual(["/password"]);
      expect((await change(account.accessToken, next)).status).toBe(204);
      const login = (password: string) =>
        t.request("/api/auth/login", { method: "POST", json: { email: account.email, password } });
      expect((await login(strong)).status).toBe(401);
      expect((await login(next)).status).toBe(200);
      // The other session is over; this one goes on.
      expect((await refresh(t, otherRefresh)).status).toBe(401);
      expect(
        (await t.request("/api/auth/me", { headers: bearer(account.accessToken) })).status,
      ).toBe(200);
      const [entry] = await t.sql(
        "SELECT actor FROM nb_audit_log WHERE action = 'auth.password_changed' AND subject = ?",
        [account.user.id],
      );
      expect(entry?.actor).toBe(`user:${account.user.id}`);
    });

    it("refuses malformed step-ups and anonymous callers", async () => {
      expect((await t.request("/api/auth/step-up", { method: "POST", json: {} })).status).toBe(401);
      const account = await signup(t, freshEmail("stepbad"));
      for (const json of [{}, { code: "12345" }, { code: "123456", password: strong }]) {
        const res = await stepUp(t, account.accessToken, json);
        expect(res.status, JSON.stringify(json)).toBe(400);
        expect((await readProblem(res)).code).toBe("VALIDATION_FAILED");
      }
    });

    it("steps up with a passkey, on a challenge bound to the session", async () => {
      const origin = "http://localhost:8787";
      const account = await signup(t, freshEmail("steppk"));
      const headers = bearer(account.accessToken);
      const authenticator = new SoftAuthenticator(origin);
      const created = await t.request("/api/auth/passkeys/register/options", {
        method: "POST",
        headers,
        json: {},
      });
      const reg = await t.request("/api/auth/passkeys/register", {
        method: "POST",
        headers,
        json: await authenticator.register((await created.json()) as Record<string, unknown>),
      });
      expect(reg.status, await reg.clone().text()).toBe(201);
      const passkey = (await reg.json()) as { id: string };
      const stale = await staleToken(t, account.refreshToken);
      await expectStepUpRequired(
        await t.request(`/api/auth/passkeys/${passkey.id}`, {
          method: "DELETE",
          headers: bearer(stale),
        }),
      );
      const options = async (token: string) => {
        const res = await t.request("/api/auth/step-up/passkey/options", {
          method: "POST",
          headers: bearer(token),
        });
        expect(res.status, await res.clone().text()).toBe(200);
        return (await res.json()) as Record<string, unknown>;
      };
      // A challenge asked for by another session of the account does not step this one up.
      const elsewhere = await t.request("/api/auth/login", {
        method: "POST",
        json: { email: account.email, password: strong },
      });
      const other = await options(
        ((await elsewhere.json()) as { accessToken: string }).accessToken,
      );
      const crossed = await t.request("/api/auth/step-up/passkey", {
        method: "POST",
        headers: bearer(stale),
        json: await authenticator.assert(other),
      });
      expect(crossed.status).toBe(401);
      const mine = await options(stale);
      expect((mine.allowCredentials as unknown[]).length).toBe(1);
      const ok = await t.request("/api/auth/step-up/passkey", {
        method: "POST",
        headers: bearer(stale),
        json: await authenticator.assert(mine),
      });
      expect(ok.status, await ok.clone().text()).toBe(200);
      const { accessToken } = (await ok.json()) as { accessToken: string };
      const removed = await t.request(`/api/auth/passkeys/${passkey.id}`, {
        method: "DELETE",
        headers: bearer(accessToken),
      });
      expect(removed.status).toBe(204);
    });
  });

  describe("second factor after every first factor", () => {
    let o: Home;
    let issuer: string;
    beforeAll(async () => {
      issuer = `${await fakesUrl()}/oidc`;
      o = await makeHome({
        env: {
          DATA_ENCRYPTION_KEYS: dataKeys,
          OAUTH_OIDC_ISSUER: issuer,
          OAUTH_OIDC_CLIENT_ID: fakeOidcClient.id,
          OAUTH_OIDC_CLIENT_SECRET: fakeOidcClient.secret,
          OAUTH_OIDC_NAME: "acme",
          PUBLIC_URL: "http://localhost:8787",
          CORS_ORIGINS: "http://app.localhost:5173",
        },
      });
    });
    afterAll(() => o.close());

    /** Signs in through the fake provider as `profile`; `redirect` for the browser-app flow. */
    async function viaProvider(profile: Record<string, unknown>, redirect?: string) {
      const query = redirect ? `?redirect=${encodeURIComponent(redirect)}` : "";
      const start = await o.request(`/api/auth/oauth/acme/start${query}`);
      expect(start.status).toBe(302);
      const location = new URL(start.headers.get("location")!);
      const cookie = start.headers.get("set-cookie")!.split(";")[0]!;
      const approved = await fetch(`${issuer}/__approve`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ authorizeUrl: location.href, profile }),
      });
      const { code } = (await approved.json()) as { code: string };
      const state = location.searchParams.get("state")!;
      return o.request(
        `/api/auth/oauth/acme/callback?state=${encodeURIComponent(state)}&code=${encodeURIComponent(code)}`,
        { headers: { cookie } },
      );
    }

    it("lists the sign-in methods for login pages, whatever credentials come along", async () => {
      for (const headers of [{}, bearer("not-a-token")]) {
        const res = await o.request("/api/auth/methods", { headers });
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({
          password: true,
          otp: true,
          passkey: true,
          mfa: ["totp"],
          providers: [
            {
              name: "acme",
              displayName: "acme",
              startUrl: "http://localhost:8787/api/auth/oauth/acme/start",
            },
          ],
        });
      }
    });

    it("asks an OAuth sign-in for the code, directly and through a browser app's exchange", async () => {
      const profile = {
        sub: unique("acme-"),
        email: `${unique("oauthmfa")}@example.com`,
        email_verified: true,
      };
      const first = await viaProvider(profile);
      expect(first.status, await first.clone().text()).toBe(200);
      const { accessToken } = (await first.json()) as { accessToken: string };
      const headers = bearer(accessToken);
      const enrol = await o.request("/api/auth/mfa/totp/enroll", { method: "POST", headers });
      const totp = OTPAuth.URI.parse(((await enrol.json()) as { uri: string }).uri) as OTPAuth.TOTP;
      const confirm = await o.request("/api/auth/mfa/totp/confirm", {
        method: "POST",
        headers,
        json: { code: codeAt(totp, -1) },
      });
      expect(confirm.status).toBe(200);

      const direct = (await (await viaProvider(profile)).json()) as Record<string, unknown>;
      expect(direct).toMatchObject({ status: "mfa_required" });
      expect(direct.accessToken).toBeUndefined();
      expect((await verify(o, direct.mfaTicket, codeAt(totp, 0))).status).toBe(200);

      const back = await viaProvider(profile, "http://app.localhost:5173/after");
      expect(back.status).toBe(302);
      const code = new URL(back.headers.get("location")!).hash.replace("#code=", "");
      const exchanged = await o.request("/api/auth/oauth/exchange?cookie=1", {
        method: "POST",
        json: { code },
      });
      expect(exchanged.status).toBe(200);
      expect(exchanged.headers.get("set-cookie")).toBeNull();
      const ticket = (await exchanged.json()) as Record<string, unknown>;
      expect(ticket).toMatchObject({ status: "mfa_required" });
      // /mfa/verify honours ?cookie=1 as /login does.
      const done = await o.request("/api/auth/mfa/verify?cookie=1", {
        method: "POST",
        json: { mfaTicket: ticket.mfaTicket, code: codeAt(totp, 1) },
      });
      expect(done.status, await done.clone().text()).toBe(200);
      expect(done.headers.get("set-cookie")).toMatch(/^nb_refresh=/);
      expect(((await done.json()) as Record<string, unknown>).refreshToken).toBeUndefined();
    });

    it("lets a passkey stand for both factors by default, and not with PASSKEY_SATISFIES_MFA=false", async () => {
      const strict = await makeHome({
        env: {
          DATA_ENCRYPTION_KEYS: dataKeys,
          PUBLIC_URL: "http://localhost:8787",
          PASSKEY_SATISFIES_MFA: "false",
        },
      });
      try {
        for (const [h, asksForCode] of [
          [o, false],
          [strict, true],
        ] as const) {
          const { account, headers, totp } = await enrolled(h);
          const authenticator = new SoftAuthenticator("http://localhost:8787");
          const created = await h.request("/api/auth/passkeys/register/options", {
            method: "POST",
            headers,
            json: {},
          });
          const reg = await h.request("/api/auth/passkeys/register", {
            method: "POST",
            headers,
            json: await authenticator.register((await created.json()) as Record<string, unknown>),
          });
          expect(reg.status).toBe(201);
          const options = await h.request("/api/auth/passkeys/sign-in/options", {
            method: "POST",
            json: { email: account.email },
          });
          const res = await h.request("/api/auth/passkeys/sign-in", {
            method: "POST",
            json: await authenticator.assert((await options.json()) as Record<string, unknown>),
          });
          expect(res.status, await res.clone().text()).toBe(200);
          const body = (await res.json()) as Record<string, unknown>;
          if (!asksForCode) {
            expect(body.accessToken).toBeTruthy();
            continue;
          }
          expect(body).toMatchObject({ status: "mfa_required" });
          expect((await verify(h, body.mfaTicket, codeAt(totp, 0))).status).toBe(200);
        }
      } finally {
        await strict.close();
      }
    });
  });
}
