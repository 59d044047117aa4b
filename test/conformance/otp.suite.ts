import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, freshEmail, signup } from "./auth-helpers";
import { type Home, type MakeHome, readProblem } from "./home";

/**
 * Sign-in by mailed one-time codes (POST /api/auth/otp/request, /otp/verify) in every home:
 * enumeration-safe answers, single use, expiry, the attempt cap, throttling, and that neither
 * codes nor links reach the log.
 */
export function defineOtpSuite(makeHome: MakeHome) {
  let t: Home;
  beforeAll(async () => {
    t = await makeHome({ env: { PUBLIC_URL: "http://localhost:8787" } });
  });
  afterAll(() => t.close());

  const request = (email: string) =>
    t.request("/api/auth/otp/request", { method: "POST", json: { email } });
  const verify = (otpId: string, code: string) =>
    t.request("/api/auth/otp/verify", { method: "POST", json: { otpId, code } });

  /** Asks for a code for `email`; returns the id answered and the code mailed. */
  async function ask(email: string) {
    const res = await request(email);
    expect(res.status).toBe(202);
    const { otpId } = (await res.json()) as { otpId: string };
    const mail = (await t.mail(email.toLowerCase())).at(-1);
    const code = /code is (\d{8})/.exec(mail?.text ?? "")?.[1];
    return { otpId, code: code!, mail };
  }

  /** A code that is not `code` (same shape). */
  const wrong = (code: string) => String((Number(code) + 1) % 100_000_000).padStart(8, "0");

  describe("mailed one-time codes", () => {
    it("mails a code and a link; the code signs in once and verifies the address", async () => {
      const { email, user } = await signup(t, freshEmail("otp"));
      const { otpId, code, mail } = await ask(email);
      expect(otpId).toMatch(/^otp_/);
      expect(code).toMatch(/^\d{8}$/);
      expect(mail?.subject).not.toContain(code);
      expect(mail?.text).toContain(`http://localhost:8787/sign-in#otp=${otpId}&code=${code}`);
      const res = await verify(otpId, code);
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as {
        user: { id: string; emailVerified: boolean };
        accessToken: string;
        refreshToken: string;
      };
      expect(body.user).toMatchObject({ id: user.id, emailVerified: true });
      expect(res.headers.get("cache-control")).toBe("no-store");
      const me = await t.request("/api/auth/me", { headers: bearer(body.accessToken) });
      expect(((await me.json()) as { emailVerified: boolean }).emailVerified).toBe(true);
      const refreshed = await t.request("/api/auth/refresh", {
        method: "POST",
        json: { refreshToken: body.refreshToken },
      });
      expect(refreshed.status).toBe(200);
      // Single use.
      const again = await verify(otpId, code);
      expect(again.status).toBe(401);
      expect((await readProblem(again)).code).toBe("UNAUTHENTICATED");
      // Stored as a hash only.
      const rows = await t.sql("SELECT code_hash FROM nb_email_otps WHERE id = ?", [otpId]);
      expect(rows).toHaveLength(1);
      expect(String(rows[0]!.code_hash)).not.toContain(code);
    });

    it("answers an unknown address exactly like a known one, and mails nothing", async () => {
      const known = (await signup(t, freshEmail("otpk"))).email;
      const unknown = freshEmail("otpu");
      const [a, b] = [await request(known), await request(unknown)];
      expect(a.status).toBe(202);
      expect(b.status).toBe(202);
      const [ja, jb] = [
        (await a.json()) as Record<string, string>,
        (await b.json()) as Record<string, string>,
      ];
      expect(Object.keys(ja).sort()).toEqual(Object.keys(jb).sort());
      expect(ja.status).toBe(jb.status);
      expect(jb.otpId).toMatch(/^otp_[a-z0-9]{15}$/);
      expect(await t.mail(unknown.toLowerCase())).toHaveLength(0);
      expect(await t.mail(known.toLowerCase())).toHaveLength(1);
      const res = await verify(jb.otpId!, "12345678");
      expect(res.status).toBe(401);
      const wrongKnown = await verify(ja.otpId!, "00000000");
      expect((await readProblem(res)).detail).toBe((await readProblem(wrongKnown)).detail);
    });

    it("caps attempts: after 5 wrong codes the right one no longer works", async () => {
      const { email } = await signup(t, freshEmail("otpcap"));
      const { otpId, code } = await ask(email);
      for (let i = 0; i < 5; i++) expect((await verify(otpId, wrong(code))).status).toBe(401);
      expect((await verify(otpId, code)).status).toBe(401);
    });

    it("expires codes, and spending one spends the account's other pending codes", async () => {
      const { email } = await signup(t, freshEmail("otpexp"));
      const first = await ask(email);
      await t.sql("UPDATE nb_email_otps SET expires_at = ? WHERE id = ?", [
        Date.now() - 1000,
        first.otpId,
      ]);
      expect((await verify(first.otpId, first.code)).status).toBe(401);

      const older = await ask(email);
      const newer = await ask(email);
      expect((await verify(newer.otpId, newer.code)).status).toBe(200);
      expect((await verify(older.otpId, older.code)).status).toBe(401);
    });

    it("refuses malformed input with field paths", async () => {
      const cases: [Record<string, unknown>, string, string][] = [
        [{ email: "not-an-email" }, "/otp/request", "/email"],
        [{ email: freshEmail(), extra: 1 }, "/otp/request", "/extra"],
        [{ otpId: "otp_x", code: "12ab5678" }, "/otp/verify", "/code"],
        [{ otpId: "otp_x", code: "1234567" }, "/otp/verify", "/code"],
        [{ code: "12345678" }, "/otp/verify", "/otpId"],
      ];
      for (const [json, path, field] of cases) {
        const res = await t.request(`/api/auth${path}`, { method: "POST", json });
        expect(res.status, JSON.stringify(json)).toBe(400);
        const problem = await readProblem(res);
        expect(problem.code).toBe("VALIDATION_FAILED");
        expect(problem.errors?.map((e) => e.path)).toContain(field);
      }
    });

    it("keeps codes and links out of the log", async () => {
      const { email } = await signup(t, freshEmail("otplog"));
      const { otpId, code } = await ask(email);
      await verify(otpId, wrong(code));
      expect((await verify(otpId, code)).status).toBe(200);
      const everything = JSON.stringify(await t.logs());
      expect(everything).not.toContain(code);
      expect(everything).not.toContain(`code=${code}`);
    });
  });

  describe("mailed one-time codes: throttling", () => {
    let strict: Home;
    beforeAll(async () => {
      strict = await makeHome({ env: { FORGOT_LIMIT_PER_ACCOUNT: "2/1h" } });
    });
    afterAll(() => strict.close());

    it("throttles requests per account, for unknown addresses too", async () => {
      for (const email of [(await signup(strict, freshEmail("otpthr"))).email, freshEmail()]) {
        for (let i = 0; i < 2; i++) {
          const ok = await strict.request("/api/auth/otp/request", {
            method: "POST",
            json: { email },
          });
          expect(ok.status).toBe(202);
        }
        const res = await strict.request("/api/auth/otp/request", {
          method: "POST",
          json: { email },
        });
        expect(res.status).toBe(429);
        expect((await readProblem(res)).code).toBe("RATE_LIMITED");
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    });
  });
}
