import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, generateSecret, sign, webhookHeaders } from "./signing";

describe("Standard Webhooks signing (checked against the standardwebhooks package)", () => {
  it("signs exactly as the reference implementation does", async () => {
    const secret = generateSecret();
    const at = new Date("2026-11-25T10:00:00Z");
    const body = JSON.stringify({ type: "posts.created", data: { ü: "☃" } });
    const ours = await sign(secret, "evt_1", at.getTime() / 1000, body);
    expect(ours).toBe(new Webhook(secret).sign("evt_1", at, body));
  });

  it("produces headers the reference verifies, with every secret during a rotation", async () => {
    const [a, b] = [generateSecret(), generateSecret()];
    const body = '{"type":"x"}';
    const headers = await webhookHeaders([a, b], "evt_2", Math.floor(Date.now() / 1000), body);
    expect(headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(new Webhook(a).verify(body, headers)).toEqual({ type: "x" });
    expect(new Webhook(b).verify(body, headers)).toEqual({ type: "x" });
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(a).verify('{"type":"y"}', headers)).toThrow();
  });

  it("stores secrets encrypted: a round trip under the key, nothing under another", async () => {
    const secret = generateSecret();
    const stored = await encryptSecret("k".repeat(32), secret);
    expect(stored).not.toContain(secret.slice(6));
    expect(await encryptSecret("k".repeat(32), secret)).not.toBe(stored);
    expect(await decryptSecret("k".repeat(32), stored)).toBe(secret);
    await expect(decryptSecret("j".repeat(32), stored)).rejects.toThrow();
  });

  it("still opens a secret stored before the AES-GCM code moved to kernel/seal.ts", async () => {
    const stored =
      "v1.9j-cnLDBu0L63Uap.H30XUtFW2iyPJDGOq5yB6aphnZHlKv16lJhXVYWIZobRRV5gdo-gFleH8QvzhpoMSHo4H1AW4USu1bbWZt2nndEA";
    expect(await decryptSecret("k".repeat(32), stored)).toBe(
      "whsec_dGVzdC1zZWNyZXQtMTIzNDU2Nzg5MDEyMzQ1Njc4OTA=",
    );
  });
});
