import { describe, expect, it } from "vitest";
import { hashPassword, passwordProfiles, verifyPassword } from "../../src/core/accounts/passwords";

/**
 * Password hashes move between homes with their users: hashes made by the Node home (these
 * vectors, also checked in test/node/password-profiles.test.ts) verify in workerd, scrypt
 * (node:crypto under nodejs_compat) included, and workerd's own hashes carry the same format.
 */
const password = "correct horse battery staple";
const vectors = {
  strong: "scrypt$16384$8$5$VZETpk4PUffvi_6ai4eKAQ$F47Wk5ntCfH6g7QPPcAsXyLP38Or-UhnzA5zgep81Bs",
  free: "pbkdf2-sha256$25000$uVOUFotq3q0aNioLuoztUw$Xg6xULagfJI2YkUTC0DAZCp3Ua_lDC4SNnGromwO4l4",
};

describe("password hashes in workerd", () => {
  it("verifies the Node home's scrypt and PBKDF2 hashes, and refuses a wrong password", async () => {
    for (const stored of Object.values(vectors)) {
      expect(await verifyPassword(password, stored, passwordProfiles.strong)).toMatchObject({
        ok: true,
      });
      expect(await verifyPassword(`${password}.`, stored, passwordProfiles.strong)).toEqual({
        ok: false,
        rehash: false,
      });
    }
  });

  it("makes strong (scrypt) hashes that verify, with no rewrite asked", async () => {
    const stored = await hashPassword(password, passwordProfiles.strong);
    expect(stored).toMatch(/^scrypt\$16384\$8\$5\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword(password, stored, passwordProfiles.strong)).toEqual({
      ok: true,
      rehash: false,
    });
  });
});
