import * as OTPAuth from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDataKey } from "../../src/core/kernel/seal";
import { bearer, freshEmail, signup, strong } from "./auth-helpers";
import { type Home, type MakeHome, readProblem } from "./home";

/**
 * TOTP two-factor sign-in over HTTP in every home. Codes come from `otpauth`, an implementation
 * independent of the server's (@oslojs/otp): enrol, confirm, password (and mailed-code) sign-in
 * answering mfa_required, the ticket + code, replay refused, recovery codes single use and
 * regenerable, disabling, the ticket's attempt cap and per-account throttling, and the key sealed
 * at rest.
 */
export function defineTotpSuite(makeHome: MakeHome) {
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
}
