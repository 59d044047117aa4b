import { base64url, fromBase64url } from "../kernel/crypto";
import { aesGcmDecrypt, aesGcmEncrypt, deriveAesKey } from "../kernel/seal";

/*
 * Standard Webhooks (https://www.standardwebhooks.com) signing on Web Crypto: the signed content
 * is `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 with the secret's bytes, sent as
 * `webhook-signature: v1,<base64>`; several signatures (a rotation's overlap) are space-separated.
 */

const prefix = "whsec_";

/** A new signing secret: `whsec_` + base64 of 32 random bytes, as the specification suggests. */
export function generateSecret(): string {
  return prefix + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function secretBytes(secret: string): Uint8Array {
  return fromBase64(secret.startsWith(prefix) ? secret.slice(prefix.length) : secret);
}

/** `v1,<base64 HMAC-SHA256>` of one message under one secret. */
export async function sign(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    secretBytes(secret) as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${msgId}.${timestampSeconds}.${body}`),
  );
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three Standard Webhooks headers for one delivery, signed with every given secret. */
export async function webhookHeaders(
  secrets: readonly string[],
  msgId: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<string, string>> {
  const signatures = await Promise.all(secrets.map((s) => sign(s, msgId, timestampSeconds, body)));
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signatures.join(" "),
  };
}

/*
 * Secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from WEBHOOK_SECRET_KEY, stored
 * as `v1.<iv>.<ciphertext>` (base64url). Without the key the database alone cannot sign.
 */

const keys = new Map<string, Promise<CryptoKey>>();

function encryptionKey(master: string): Promise<CryptoKey> {
  let key = keys.get(master);
  if (key === undefined) {
    key = deriveAesKey(master, "webhook-secrets");
    keys.set(master, key);
  }
  return key;
}

// The AES-GCM primitive is kernel/seal.ts's; this format (`v1.<iv>.<ciphertext>`, no key id,
// no AAD) stays as it was so every stored secret keeps opening.
export async function encryptSecret(master: string, secret: string): Promise<string> {
  const { iv, sealed } = await aesGcmEncrypt(
    await encryptionKey(master),
    new TextEncoder().encode(secret),
  );
  return `v1.${base64url(iv)}.${base64url(sealed)}`;
}

export async function decryptSecret(master: string, stored: string): Promise<string> {
  const [version, iv, sealed] = stored.split(".");
  if (version !== "v1" || iv === undefined || sealed === undefined)
    throw new Error("webhook secret: unknown storage format");
  const plain = await aesGcmDecrypt(
    await encryptionKey(master),
    fromBase64url(iv),
    fromBase64url(sealed),
  );
  return new TextDecoder().decode(plain);
}
