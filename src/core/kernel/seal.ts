import { base64url, fromBase64url } from "./crypto";
import type { SecretStore } from "./ports";

/*
 * The one encryption primitive of Nearbase: AES-256-GCM on Web Crypto (both homes), for any value
 * that must be unreadable in a database dump — declared `encrypted` record fields, TOTP secrets,
 * webhook signing secrets.
 *
 * A sealed value is text: `nb1.<kid>.<iv>.<ciphertext+tag>` (iv and ciphertext base64url). The key
 * id travels with every value, so several keys can be live at once: the newest (first) seals,
 * every listed key opens — rotation is "put a new key first, re-seal in the background, drop the
 * old key once nothing names it". The caller's context (e.g. `profiles/prf_123/email`) and the
 * header are bound as additional authenticated data: a value copied to another record, field or
 * purpose fails to open instead of showing the wrong plaintext.
 *
 * Keys come from the secret store (DATA_ENCRYPTION_KEYS: a Workers secret; in Node the
 * environment or a generated file, like the JWT signing keys), never from the database.
 */

/** The secret holding the data keys: a JSON array of `{ "kid": "…", "key": "<base64url 32 bytes>" }`. */
export const dataKeysSecret = "DATA_ENCRYPTION_KEYS";

const version = "nb1";
const kidPattern = /^[A-Za-z0-9_-]{1,64}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface DataKey {
  kid: string;
  /** 32 random bytes, base64url. */
  key: string;
}

/** A value that cannot be opened: unknown format, unknown key, wrong context, or tampered with. */
export class SealError extends Error {
  constructor(
    message: string,
    readonly reason: "format" | "unknown-key" | "tampered",
  ) {
    super(message);
    this.name = "SealError";
  }
}

/** Whether a stored value is in the sealed format (says nothing about whether it opens). */
export function isSealed(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(`${version}.`);
}

/** The key id a sealed value names, or undefined if it is not a sealed value. */
export function sealedKid(value: unknown): string | undefined {
  if (!isSealed(value)) return undefined;
  const kid = value.split(".")[1];
  return kid !== undefined && kidPattern.test(kid) ? kid : undefined;
}

/** A new data key, its id dated so an operator can tell keys apart (`d20261125-1a2b3c4d`). */
export function generateDataKey(now = new Date()): DataKey {
  const day = now.toISOString().slice(0, 10).replaceAll("-", "");
  const suffix = base64url(crypto.getRandomValues(new Uint8Array(6)))
    .replaceAll("-", "x")
    .replaceAll("_", "y");
  return { kid: `d${day}-${suffix}`, key: base64url(crypto.getRandomValues(new Uint8Array(32))) };
}

/** Parses and checks DATA_ENCRYPTION_KEYS; the message names what is wrong, never a key. */
export function parseDataKeys(json: string): DataKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`${dataKeysSecret} is not valid JSON (expected an array of {kid, key})`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw new Error(`${dataKeysSecret} must be a non-empty array of {kid, key}`);
  const seen = new Set<string>();
  return parsed.map((entry: unknown, i) => {
    const { kid, key } = (entry ?? {}) as Partial<DataKey>;
    if (typeof kid !== "string" || !kidPattern.test(kid))
      throw new Error(`${dataKeysSecret}[${i}].kid must match ${kidPattern}`);
    if (seen.has(kid)) throw new Error(`${dataKeysSecret}: kid ${kid} is listed twice`);
    seen.add(kid);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64url(key ?? "");
    } catch {
      throw new Error(`${dataKeysSecret}[${i}].key is not base64url`);
    }
    if (bytes.length !== 32)
      throw new Error(`${dataKeysSecret}[${i}].key must be 32 bytes (base64url, 43 characters)`);
    return { kid, key: key as string };
  });
}

// ── the AES-GCM primitive, shared by every sealed thing (and the webhook secrets' older format) ──

/** Imports 32 raw bytes as a non-extractable AES-256-GCM key. */
export function importAesKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== 32) throw new Error("an AES-256 key is 32 bytes");
  return crypto.subtle.importKey("raw", raw as BufferSource, { name: "AES-GCM" }, false, [
    "encrypt",
    "decrypt",
  ]);
}

/** An AES-256-GCM key derived with HKDF-SHA256 from a master secret (salt "nearbase"). */
export async function deriveAesKey(master: string, info: string): Promise<CryptoKey> {
  const raw = await crypto.subtle.importKey("raw", encoder.encode(master), "HKDF", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: encoder.encode("nearbase"),
      info: encoder.encode(info),
    },
    raw,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** AES-GCM with a fresh random 96-bit IV; returns the IV and ciphertext+tag. */
export async function aesGcmEncrypt(
  key: CryptoKey,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Promise<{ iv: Uint8Array; sealed: Uint8Array }> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const params = {
    name: "AES-GCM",
    iv,
    ...(aad === undefined ? {} : { additionalData: aad as BufferSource }),
  };
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(params, key, plaintext as BufferSource),
  );
  return { iv, sealed };
}

/** Opens what `aesGcmEncrypt` made; throws if the key, IV, data or AAD differ in any bit. */
export async function aesGcmDecrypt(
  key: CryptoKey,
  iv: Uint8Array,
  sealed: Uint8Array,
  aad?: Uint8Array,
): Promise<Uint8Array> {
  const params = {
    name: "AES-GCM",
    iv: iv as BufferSource,
    ...(aad === undefined ? {} : { additionalData: aad as BufferSource }),
  };
  return new Uint8Array(await crypto.subtle.decrypt(params, key, sealed as BufferSource));
}

/**
 * A set of data keys: the first seals, all open. Build once per isolate/process (`loadSealer`
 * memoises by the secret's text) — importing keys costs a little, sealing is cheap.
 */
export class Sealer {
  private constructor(
    /** Key ids, newest (sealing) first. */
    readonly kids: readonly string[],
    private readonly keys: ReadonlyMap<string, CryptoKey>,
  ) {}

  static async fromKeys(keys: readonly DataKey[]): Promise<Sealer> {
    const checked = parseDataKeys(JSON.stringify(keys));
    const imported = new Map<string, CryptoKey>();
    for (const k of checked) imported.set(k.kid, await importAesKey(fromBase64url(k.key)));
    return new Sealer(
      checked.map((k) => k.kid),
      imported,
    );
  }

  static async fromJson(json: string): Promise<Sealer> {
    return Sealer.fromKeys(parseDataKeys(json));
  }

  /** The key new values are sealed with. */
  get activeKid(): string {
    return this.kids[0]!;
  }

  /** Seals text, bound to `context` (e.g. `collection/recordId/field`). */
  async seal(plaintext: string, context: string): Promise<string> {
    const kid = this.activeKid;
    const { iv, sealed } = await aesGcmEncrypt(
      this.keys.get(kid)!,
      encoder.encode(plaintext),
      additionalData(kid, context),
    );
    return `${version}.${kid}.${base64url(iv)}.${base64url(sealed)}`;
  }

  /** Opens a sealed value under the same `context`; a SealError otherwise (never the plaintext). */
  async open(value: string, context: string): Promise<string> {
    const parts = value.split(".");
    if (parts.length !== 4 || parts[0] !== version)
      throw new SealError("not a sealed value", "format");
    const [, kid, iv, sealed] = parts as [string, string, string, string];
    const key = this.keys.get(kid);
    if (key === undefined)
      throw new SealError(
        `sealed with key ${JSON.stringify(kid)}, which is not loaded`,
        "unknown-key",
      );
    let ivBytes: Uint8Array;
    let sealedBytes: Uint8Array;
    try {
      ivBytes = fromBase64url(iv);
      sealedBytes = fromBase64url(sealed);
    } catch {
      throw new SealError("not a sealed value", "format");
    }
    if (ivBytes.length !== 12) throw new SealError("not a sealed value", "format");
    try {
      return decoder.decode(
        await aesGcmDecrypt(key, ivBytes, sealedBytes, additionalData(kid, context)),
      );
    } catch {
      throw new SealError(
        "the value does not open under its key and context (tampered with, or moved from another record or field)",
        "tampered",
      );
    }
  }

  /** Whether a sealed value names a key other than the sealing one (rotation work left). */
  isStale(value: string): boolean {
    return sealedKid(value) !== this.activeKid;
  }
}

function additionalData(kid: string, context: string): Uint8Array {
  return encoder.encode(`${version}.${kid}|${context}`);
}

const memo = new Map<string, Promise<Sealer>>();

/**
 * The data keys from the secret store, or undefined when DATA_ENCRYPTION_KEYS is not set. A bad
 * value throws (with a message that names the problem, never a key).
 */
export async function loadSealer(secrets: SecretStore): Promise<Sealer | undefined> {
  const json = await secrets.get(dataKeysSecret);
  if (json === undefined || json.trim() === "") return undefined;
  let sealer = memo.get(json);
  if (sealer === undefined) {
    sealer = Sealer.fromJson(json);
    sealer.catch(() => memo.delete(json));
    if (memo.size > 8) memo.clear();
    memo.set(json, sealer);
  }
  return sealer;
}
