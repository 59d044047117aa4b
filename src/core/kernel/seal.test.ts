import { describe, expect, it } from "vitest";
import {
  generateDataKey,
  isSealed,
  loadSealer,
  parseDataKeys,
  SealError,
  Sealer,
  sealedKid,
} from "./seal";

describe("seal: AES-256-GCM with key ids and bound context", () => {
  it("round-trips text under its context; the stored form holds no plaintext", async () => {
    const key = generateDataKey();
    const sealer = await Sealer.fromKeys([key]);
    const secret = "alice@example.com — ünïcödé ☃";
    const sealed = await sealer.seal(secret, "profiles/prf_1/email");
    expect(isSealed(sealed)).toBe(true);
    expect(sealedKid(sealed)).toBe(key.kid);
    expect(sealed).not.toContain("alice");
    expect(sealed.startsWith(`nb1.${key.kid}.`)).toBe(true);
    expect(await sealer.open(sealed, "profiles/prf_1/email")).toBe(secret);
    // A fresh IV every time: equal plaintexts do not give equal ciphertexts.
    expect(await sealer.seal(secret, "profiles/prf_1/email")).not.toBe(sealed);
  });

  it("refuses a value moved to another record or field (AAD), or tampered with", async () => {
    const sealer = await Sealer.fromKeys([generateDataKey()]);
    const sealed = await sealer.seal("secret", "profiles/prf_1/email");
    await expect(sealer.open(sealed, "profiles/prf_2/email")).rejects.toThrow(SealError);
    await expect(sealer.open(sealed, "profiles/prf_1/bio")).rejects.toThrow(SealError);
    const parts = sealed.split(".");
    const flipped = parts[3]!.startsWith("A") ? `B${parts[3]!.slice(1)}` : `A${parts[3]!.slice(1)}`;
    await expect(
      sealer.open([parts[0], parts[1], parts[2], flipped].join("."), "profiles/prf_1/email"),
    ).rejects.toMatchObject({ reason: "tampered" });
    await expect(sealer.open("plain text", "x")).rejects.toMatchObject({ reason: "format" });
    // The error never carries the plaintext.
    const err = await sealer.open(sealed, "other").catch((e: Error) => e);
    expect(String((err as Error).message)).not.toContain("secret");
  });

  it("rotation: the newest key seals, every listed key opens, a dropped key does not", async () => {
    const old = generateDataKey(new Date("2026-01-01"));
    const next = generateDataKey(new Date("2026-11-25"));
    const before = await Sealer.fromKeys([old]);
    const sealedOld = await before.seal("v", "c");
    const during = await Sealer.fromKeys([next, old]);
    expect(during.activeKid).toBe(next.kid);
    expect(await during.open(sealedOld, "c")).toBe("v");
    expect(during.isStale(sealedOld)).toBe(true);
    const sealedNew = await during.seal("v", "c");
    expect(sealedKid(sealedNew)).toBe(next.kid);
    expect(during.isStale(sealedNew)).toBe(false);
    const after = await Sealer.fromKeys([next]);
    expect(await after.open(sealedNew, "c")).toBe("v");
    await expect(after.open(sealedOld, "c")).rejects.toMatchObject({ reason: "unknown-key" });
    // A key id cannot be swapped in the header: the header is authenticated too.
    const relabelled = sealedOld.replace(old.kid, next.kid);
    await expect(during.open(relabelled, "c")).rejects.toMatchObject({ reason: "tampered" });
  });

  it("checks DATA_ENCRYPTION_KEYS and names the problem without echoing a key", () => {
    expect(() => parseDataKeys("nope")).toThrow(/not valid JSON/);
    expect(() => parseDataKeys("[]")).toThrow(/non-empty/);
    expect(() => parseDataKeys('[{"kid":"a.b","key":"x"}]')).toThrow(/kid must match/);
    expect(() => parseDataKeys('[{"kid":"a","key":"c2hvcnQ"}]')).toThrow(/32 bytes/);
    const k = generateDataKey();
    expect(() => parseDataKeys(JSON.stringify([k, k]))).toThrow(/twice/);
    try {
      parseDataKeys(JSON.stringify([{ kid: "a", key: "c2hvcnQ" }]));
    } catch (err) {
      expect((err as Error).message).not.toContain("c2hvcnQ");
    }
  });

  it("loads from the secret store once per value, undefined when unset", async () => {
    const json = JSON.stringify([generateDataKey()]);
    const store = (v: string | undefined) => ({ get: async () => v });
    expect(await loadSealer(store(undefined))).toBeUndefined();
    const a = await loadSealer(store(json));
    expect(a).toBe(await loadSealer(store(json)));
    await expect(loadSealer(store("[]"))).rejects.toThrow(/non-empty/);
  });
});
