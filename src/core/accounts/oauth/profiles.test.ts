import { OAuth2Tokens } from "arctic";
import { describe, expect, it } from "vitest";
import { appleProfile } from "./apple";
import { discordProfile } from "./discord";
import { facebookProfile } from "./facebook";
import { gitlabProfile } from "./gitlab";
import { idTokenClaims } from "./id-token";
import { linkedinProfile } from "./linkedin";
import { microsoftProfile } from "./microsoft";
import { xProfile } from "./x";

/** Which field gives the id, the address and whether the provider verified it, per provider. */
describe("OAuth profile mapping", () => {
  it("Apple: sub, email, email_verified as boolean or the string Apple sends", () => {
    expect(
      appleProfile({ sub: "001.a", email: "a@privaterelay.appleid.com", email_verified: "true" }),
    ).toEqual({
      id: "001.a",
      email: "a@privaterelay.appleid.com",
      emailVerified: true,
      name: "",
    });
    expect(appleProfile({ sub: "s", email: "a@b.c", email_verified: true }).emailVerified).toBe(
      true,
    );
    for (const flag of ["false", false, undefined, 1, "TRUE"])
      expect(appleProfile({ sub: "s", email: "a@b.c", email_verified: flag }).emailVerified).toBe(
        false,
      );
  });

  it("Microsoft Entra ID: email counts as verified only with xms_edov (or email_verified), never by itself", () => {
    const base = { sub: "pairwise", email: "boss@contoso.com", name: "Boss", oid: "o", tid: "t" };
    expect(microsoftProfile(base)).toEqual({
      id: "pairwise",
      email: "boss@contoso.com",
      emailVerified: false,
      name: "Boss",
    });
    expect(microsoftProfile({ ...base, xms_edov: true }).emailVerified).toBe(true);
    expect(microsoftProfile({ ...base, xms_edov: "true" }).emailVerified).toBe(true);
    expect(microsoftProfile({ ...base, xms_edov: 1 }).emailVerified).toBe(true);
    expect(microsoftProfile({ ...base, xms_edov: false }).emailVerified).toBe(false);
    expect(microsoftProfile({ ...base, email_verified: true }).emailVerified).toBe(true);
  });

  it("Discord: id, email, and `verified` for the email; global_name before username", () => {
    const user = {
      id: "80351110224678912",
      username: "nelly",
      global_name: "Nelly",
      email: "n@x.io",
    };
    expect(discordProfile({ ...user, verified: true })).toEqual({
      id: "80351110224678912",
      email: "n@x.io",
      emailVerified: true,
      name: "Nelly",
    });
    expect(discordProfile({ ...user, verified: false }).emailVerified).toBe(false);
    expect(discordProfile({ ...user, verified: "true" }).emailVerified).toBe(false);
    expect(discordProfile({ id: "1", username: "nelly" }).name).toBe("nelly");
  });

  it("GitLab: userinfo sub, email, email_verified", () => {
    expect(
      gitlabProfile({ sub: "42", email: "g@l.ab", email_verified: true, nickname: "gl" }),
    ).toEqual({
      id: "42",
      email: "g@l.ab",
      emailVerified: true,
      name: "gl",
    });
    expect(gitlabProfile({ sub: "42", email: "g@l.ab", email_verified: false }).emailVerified).toBe(
      false,
    );
    expect(gitlabProfile({ sub: "42", email: "g@l.ab" }).emailVerified).toBe(false);
  });

  it("Facebook: an email Graph sends is a confirmed one; none sent, none taken", () => {
    expect(facebookProfile({ id: "10", name: "F", email: "f@b.com" })).toEqual({
      id: "10",
      email: "f@b.com",
      emailVerified: true,
      name: "F",
    });
    expect(facebookProfile({ id: "10", name: "F" })).toMatchObject({
      email: undefined,
      emailVerified: false,
    });
  });

  it("X: data.id and data.confirmed_email only (a plain email field is not taken)", () => {
    expect(
      xProfile({
        data: { id: "2244994945", name: "X", username: "x", confirmed_email: "x@x.com" },
      }),
    ).toEqual({
      id: "2244994945",
      email: "x@x.com",
      emailVerified: true,
      name: "X",
    });
    expect(
      xProfile({ data: { id: "1", username: "x", email: "unconfirmed@x.com" } }),
    ).toMatchObject({
      email: undefined,
      emailVerified: false,
      name: "x",
    });
    expect(xProfile({}).id).toBe("");
  });

  it("LinkedIn: userinfo sub, email, email_verified", () => {
    expect(linkedinProfile({ sub: "li", name: "L", email: "l@i.n", email_verified: true })).toEqual(
      {
        id: "li",
        email: "l@i.n",
        emailVerified: true,
        name: "L",
      },
    );
    expect(
      linkedinProfile({ sub: "li", email: "l@i.n", email_verified: false }).emailVerified,
    ).toBe(false);
  });
});

describe("ID token checks", () => {
  const token = (claims: Record<string, unknown>) =>
    new OAuth2Tokens({
      access_token: "a",
      id_token: [
        btoa(JSON.stringify({ alg: "RS256" })),
        btoa(JSON.stringify(claims)).replace(/=+$/, ""),
        "c2ln",
      ].join("."),
    });
  const expected = { issuer: (iss: string) => iss === "https://issuer", audience: "me" };
  const now = Date.UTC(2026, 10, 26);
  const exp = now / 1000 + 60;
  it("takes a token for this client from the expected issuer", () => {
    expect(
      idTokenClaims(token({ iss: "https://issuer", aud: "me", exp, sub: "s" }), expected, now).sub,
    ).toBe("s");
    expect(
      idTokenClaims(token({ iss: "https://issuer", aud: ["x", "me"], exp }), expected, now).aud,
    ).toEqual(["x", "me"]);
  });
  it("refuses another issuer, another audience, an expired token and no ID token", () => {
    expect(() =>
      idTokenClaims(token({ iss: "https://evil", aud: "me", exp }), expected, now),
    ).toThrow();
    expect(() =>
      idTokenClaims(token({ iss: "https://issuer", aud: "you", exp }), expected, now),
    ).toThrow();
    expect(() =>
      idTokenClaims(
        token({ iss: "https://issuer", aud: "me", exp: now / 1000 - 600 }),
        expected,
        now,
      ),
    ).toThrow();
    expect(() =>
      idTokenClaims(token({ iss: "https://issuer", aud: "me" }), expected, now),
    ).toThrow();
    expect(() => idTokenClaims(new OAuth2Tokens({ access_token: "a" }), expected, now)).toThrow();
  });
});
