import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64url } from "../../src/core/kernel/crypto";
import { bearer, forgot, freshEmail, signup } from "./auth-helpers";
import { type Home, type MakeHome, readProblem } from "./home";
import { SoftAuthenticator } from "./soft-authenticator";

/**
 * Passkeys (WebAuthn) over HTTP in every home, with a software authenticator answering the
 * server's real options (soft-authenticator.ts): the server's verification is never mocked.
 * Registration, passwordless sign-up, discoverable and by-email sign-in, list/rename/remove, and
 * what must be refused: another origin or RP ID, a replayed challenge, a counter that did not
 * grow, another account's credential, a challenge of another session, no user verification.
 * The same server against Chromium's own authenticator: test/e2e/passkeys.test.ts.
 */
export function definePasskeySuite(makeHome: MakeHome) {
  let t: Home;
  const origin = "http://localhost:8787";
  beforeAll(async () => {
    t = await makeHome({
      env: { PUBLIC_URL: origin, PASSKEY_ORIGINS: "http://app.localhost:5173" },
    });
  });
  afterAll(() => t.close());

  const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
    t.request(`/api/auth/passkeys${path}`, { method: "POST", json, headers });
  const options = async (path: string, json: unknown, headers: Record<string, string> = {}) => {
    const res = await post(path, json, headers);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };

  /** A password account with one registered passkey. */
  async function withPasskey(name = "Laptop") {
    const account = await signup(t, freshEmail("pk"));
    const headers = bearer(account.accessToken);
    const authenticator = new SoftAuthenticator(origin);
    const created = await options("/register/options", { name }, headers);
    const res = await post("/register", await authenticator.register(created), headers);
    expect(res.status, await res.clone().text()).toBe(201);
    return { account, headers, authenticator, passkey: (await res.json()) as { id: string } };
  }

  async function expectRefused(res: Response) {
    expect(res.status, await res.clone().text()).toBe(401);
    expect((await readProblem(res)).code).toBe("UNAUTHENTICATED");
  }

  describe("passkeys", () => {
    it("registers a passkey for a signed-in account and signs in with it (discoverable and by email)", async () => {
      const { account, headers, authenticator, passkey } = await withPasskey();
      const created = await options("/register/options", {}, headers);
      expect(created).toMatchObject({
        rp: { id: "localhost", name: "Nearbase" },
        attestation: "none",
        authenticatorSelection: { residentKey: "required", userVerification: "required" },
      });
      expect((created.excludeCredentials as unknown[]).length).toBe(1);
      expect(passkey).toMatchObject({ name: "Laptop", backupEligible: true, backupState: true });

      const list = await t.request("/api/auth/passkeys", { headers });
      expect(((await list.json()) as { items: { id: string }[] }).items.map((p) => p.id)).toEqual([
        passkey.id,
      ]);

      // Discoverable: no email, the authenticator picks the credential.
      const anyone = await options("/sign-in/options", {});
      expect(anyone.allowCredentials).toEqual([]);
      const res = await post("/sign-in", await authenticator.assert(anyone));
      expect(res.status, await res.clone().text()).toBe(200);
      const signedIn = (await res.json()) as { user: { id: string }; accessToken: string };
      expect(signedIn.user.id).toBe(account.user.id);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const me = await t.request("/api/auth/me", { headers: bearer(signedIn.accessToken) });
      expect(me.status).toBe(200);

      // By email: the options list that account's passkeys.
      const byEmail = await options("/sign-in/options", { email: account.email });
      expect((byEmail.allowCredentials as { id: string }[]).length).toBe(1);
      expect((await post("/sign-in", await authenticator.assert(byEmail))).status).toBe(200);

      // The counter and last use are stored.
      const [row] = await t.sql(
        "SELECT sign_count, last_used, backup_eligible, public_key FROM nb_passkeys WHERE id = ?",
        [passkey.id],
      );
      expect(Number(row!.sign_count)).toBe(2);
      expect(row!.last_used).not.toBeNull();
      expect(JSON.parse(String(row!.public_key))).toMatchObject({ kty: "EC", crv: "P-256" });
    });

    it("accepts ceremonies from PASSKEY_ORIGINS as well as PUBLIC_URL's origin", async () => {
      const { authenticator } = await withPasskey();
      const other = await options("/sign-in/options", {});
      const res = await post(
        "/sign-in",
        await authenticator.assert(other, { origin: "http://app.localhost:5173" }),
      );
      expect(res.status).toBe(200);
    });

    it("signs up without a password, once per address", async () => {
      const email = freshEmail("pkup");
      const authenticator = new SoftAuthenticator(origin);
      const created = await options("/sign-up/options", { email, name: "Pat" });
      const res = await post("/sign-up", await authenticator.register(created));
      expect(res.status, await res.clone().text()).toBe(201);
      const body = (await res.json()) as {
        user: { id: string; email: string; name: string };
        accessToken: string;
      };
      expect(body.user).toMatchObject({ email: email.toLowerCase(), name: "Pat" });
      const [user] = await t.sql("SELECT password_hash FROM nb_users WHERE id = ?", [body.user.id]);
      expect(user!.password_hash).toBeNull();
      // The credential's user handle is the account's id.
      expect(
        atob((created.user as { id: string }).id.replaceAll("-", "+").replaceAll("_", "/")),
      ).toBe(body.user.id);
      const signIn = await options("/sign-in/options", {});
      expect((await post("/sign-in", await authenticator.assert(signIn))).status).toBe(200);
      // The address is taken now.
      const again = await post("/sign-up/options", { email });
      expect(again.status).toBe(409);
      expect((await readProblem(again)).code).toBe("CONFLICT");
      // Its only passkey is its only way in: not removable.
      const headers = bearer(body.accessToken);
      const [mine] = (
        (await (await t.request("/api/auth/passkeys", { headers })).json()) as {
          items: { id: string }[];
        }
      ).items;
      const remove = await t.request(`/api/auth/passkeys/${mine!.id}`, {
        method: "DELETE",
        headers,
      });
      expect(remove.status).toBe(409);
      expect((await readProblem(remove)).code).toBe("CONFLICT");
    });

    it("refuses another origin, another RP ID and a missing user verification", async () => {
      const { headers, authenticator } = await withPasskey();
      for (const lies of [
        { origin: "https://evil.example" },
        { rpId: "evil.example" },
        { userVerified: false },
      ]) {
        const created = await options("/register/options", {}, headers);
        await expectRefused(
          await post(
            "/register",
            await new SoftAuthenticator(origin).register(created, lies),
            headers,
          ),
        );
        const request = await options("/sign-in/options", {});
        await expectRefused(await post("/sign-in", await authenticator.assert(request, lies)));
      }
      const logs = JSON.stringify(await t.logs());
      expect(logs).toContain("RP ID hash mismatch");
      expect(logs).toContain("not allowed");
    });

    it("refuses a replayed challenge and a counter that did not grow", async () => {
      const { authenticator } = await withPasskey();
      const request = await options("/sign-in/options", {});
      const first = await authenticator.assert(request);
      expect((await post("/sign-in", first)).status).toBe(200);
      await expectRefused(await post("/sign-in", first));
      // A fresh challenge signed with a counter at or below the stored one (a cloned key).
      const next = await options("/sign-in/options", {});
      await expectRefused(await post("/sign-in", await authenticator.assert(next, { counter: 1 })));
      const later = await options("/sign-in/options", {});
      expect(
        (await post("/sign-in", await authenticator.assert(later, { counter: 50 }))).status,
      ).toBe(200);
    });

    it("refuses another account's passkey for a sign-in by email, and a challenge of another session", async () => {
      const a = await withPasskey();
      const b = await withPasskey();
      const forA = await options("/sign-in/options", { email: a.account.email });
      await expectRefused(
        await post(
          "/sign-in",
          await b.authenticator.assert(forA, {
            credentialId: base64url(b.authenticator.credentials[0]!.id),
          }),
        ),
      );
      // Registration options asked for by one session, finished by another session of the account.
      const created = await options("/register/options", {}, a.headers);
      const other = (await (
        await t.request("/api/auth/login", {
          method: "POST",
          json: { email: a.account.email, password: "correct horse battery staple" },
        })
      ).json()) as { accessToken: string };
      await expectRefused(
        await post(
          "/register",
          await new SoftAuthenticator(origin).register(created),
          bearer(other.accessToken),
        ),
      );
      // …or by another account.
      const created2 = await options("/register/options", {}, a.headers);
      await expectRefused(
        await post("/register", await new SoftAuthenticator(origin).register(created2), b.headers),
      );
    });

    it("drops a squatter's passkey when the mailbox's owner resets the password", async () => {
      // Someone signs up with an address they do not own, with a passkey…
      const email = freshEmail("squat");
      const squatter = new SoftAuthenticator(origin);
      const created = await options("/sign-up/options", { email });
      expect((await post("/sign-up", await squatter.register(created))).status).toBe(201);
      // …then the owner proves the mailbox with a reset link.
      const token = await forgot(t, email);
      const reset = await t.request("/api/auth/password/reset", {
        method: "POST",
        json: { token, password: "a brand new passphrase" },
      });
      expect(reset.status).toBe(204);
      const request = await options("/sign-in/options", {});
      await expectRefused(await post("/sign-in", await squatter.assert(request)));
    });

    it("renames and removes passkeys, only the account's own", async () => {
      const a = await withPasskey();
      const b = await withPasskey();
      const renamed = await t.request(`/api/auth/passkeys/${a.passkey.id}`, {
        method: "PATCH",
        headers: a.headers,
        json: { name: "Work phone" },
      });
      expect(renamed.status).toBe(200);
      expect(((await renamed.json()) as { name: string }).name).toBe("Work phone");
      for (const [method, json] of [
        ["PATCH", { name: "x" }],
        ["DELETE", undefined],
      ] as const) {
        const res = await t.request(`/api/auth/passkeys/${a.passkey.id}`, {
          method,
          headers: b.headers,
          json,
        });
        expect(res.status).toBe(404);
      }
      const removed = await t.request(`/api/auth/passkeys/${a.passkey.id}`, {
        method: "DELETE",
        headers: a.headers,
      });
      expect(removed.status).toBe(204);
      const request = await options("/sign-in/options", {});
      await expectRefused(await post("/sign-in", await a.authenticator.assert(request)));
    });

    it("refuses malformed input and anonymous registration", async () => {
      const anonymous = await post("/register/options", {});
      expect(anonymous.status).toBe(401);
      const { headers } = await withPasskey();
      const cases: [string, unknown, string][] = [
        ["/register", { id: "x", rawId: "x", type: "public-key" }, "/response"],
        ["/sign-in", { id: "x", rawId: "x", type: "password", response: {} }, "/type"],
        ["/sign-up/options", { email: "nope" }, "/email"],
        ["/sign-in/options", { email: "nope" }, "/email"],
      ];
      for (const [path, json, field] of cases) {
        const res = await post(path, json, headers);
        expect(res.status, path).toBe(400);
        expect((await readProblem(res)).errors?.map((e) => e.path)).toContain(field);
      }
      // Garbage that parses as the right shape is a refused credential, not a 500.
      const garbage = await post("/sign-in", {
        id: "AAAA",
        rawId: "AAAA",
        type: "public-key",
        response: { clientDataJSON: "e30", authenticatorData: "AAAA", signature: "AAAA" },
      });
      await expectRefused(garbage);
    });
  });
}
