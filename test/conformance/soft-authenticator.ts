import { base64url, fromBase64url } from "../../src/core/kernel/crypto";

/**
 * A software WebAuthn authenticator (ES256, attestation "none") for the conformance suites: it
 * answers the server's real options with real client data, authenticator data, CBOR attestation
 * objects and ECDSA signatures made with Web Crypto, so the server's verification runs for real
 * in both homes (workerd too, where no browser runs). Options let a test lie like an attacker
 * would: another origin or RP ID, a replayed or stale counter, a missing user-verification flag.
 * The browser test (test/e2e) checks the same server against Chromium's own authenticator.
 */

const utf8 = new TextEncoder();

function cborHead(major: number, n: number): number[] {
  if (n < 24) return [(major << 5) | n];
  if (n < 256) return [(major << 5) | 24, n];
  if (n < 65536) return [(major << 5) | 25, n >> 8, n & 255];
  return [(major << 5) | 26, (n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
}

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>;

function cbor(value: Cbor): number[] {
  if (typeof value === "number") return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === "string") {
    const b = utf8.encode(value);
    return [...cborHead(3, b.length), ...b];
  }
  if (value instanceof Uint8Array) return [...cborHead(2, value.length), ...value];
  const out = cborHead(5, value.size);
  for (const [k, v] of value) out.push(...cbor(k), ...cbor(v));
  return out;
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const sha256 = async (data: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", data as BufferSource));

/** Raw r ‖ s as ASN.1 DER, as authenticators send ES256 signatures. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.subarray(i);
    if (v[0]! & 0x80) v = concat([0], v);
    return concat([0x02, v.length], v);
  };
  const body = concat(int(raw.subarray(0, 32)), int(raw.subarray(32)));
  return concat([0x30, body.length], body);
}

interface Credential {
  id: Uint8Array;
  keys: CryptoKeyPair;
  userHandle: string;
  counter: number;
}

/** What a test may change about one ceremony, to play an attacker or a broken client. */
export interface Lies {
  origin?: string;
  rpId?: string;
  /** The signature counter to report (default: one more than last time). */
  counter?: number;
  userVerified?: boolean;
  /** Another challenge than the options' (e.g. a spent one). */
  challenge?: string;
  /** Sign with this credential instead of the first one the options allow. */
  credentialId?: string;
}

export class SoftAuthenticator {
  readonly credentials: Credential[] = [];

  constructor(readonly origin: string) {}

  private authData(rpId: string, flags: number, counter: number, attested?: Uint8Array) {
    return (async () =>
      concat(
        await sha256(utf8.encode(rpId)),
        [flags, (counter >>> 24) & 255, (counter >> 16) & 255, (counter >> 8) & 255, counter & 255],
        attested ?? [],
      ))();
  }

  /** Answers creation options like navigator.credentials.create(…).toJSON(). */
  async register(options: Record<string, unknown>, lies: Lies = {}) {
    const rp = options.rp as { id: string };
    const user = options.user as { id: string };
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey;
    const id = crypto.getRandomValues(new Uint8Array(16));
    const coseKey = new Map<Cbor, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, fromBase64url(jwk.x!)],
      [-3, fromBase64url(jwk.y!)],
    ]);
    const attested = concat(
      new Uint8Array(16),
      [id.length >> 8, id.length & 255],
      id,
      cbor(coseKey),
    );
    const flags = 0x01 | (lies.userVerified === false ? 0 : 0x04) | 0x08 | 0x10 | 0x40;
    const authData = await this.authData(lies.rpId ?? rp.id, flags, 0, attested);
    const attestationObject = cbor(
      new Map<Cbor, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    const clientDataJSON = utf8.encode(
      JSON.stringify({
        type: "webauthn.create",
        challenge: lies.challenge ?? (options.challenge as string),
        origin: lies.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    this.credentials.push({ id, keys, userHandle: user.id, counter: 0 });
    return {
      id: base64url(id),
      rawId: base64url(id),
      type: "public-key",
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
      response: {
        clientDataJSON: base64url(clientDataJSON),
        attestationObject: base64url(new Uint8Array(attestationObject)),
        transports: ["internal"],
      },
    };
  }

  /** Answers request options like navigator.credentials.get(…).toJSON(). */
  async assert(options: Record<string, unknown>, lies: Lies = {}) {
    const allowed = (options.allowCredentials as { id: string }[] | undefined) ?? [];
    const wanted = lies.credentialId ?? allowed[0]?.id;
    const credential =
      wanted === undefined
        ? this.credentials.at(-1)
        : this.credentials.find((c) => base64url(c.id) === wanted);
    if (credential === undefined) throw new Error("no such credential in this authenticator");
    credential.counter = lies.counter ?? credential.counter + 1;
    const flags = 0x01 | (lies.userVerified === false ? 0 : 0x04) | 0x08 | 0x10;
    const authData = await this.authData(
      lies.rpId ?? (options.rpId as string),
      flags,
      credential.counter,
    );
    const clientDataJSON = utf8.encode(
      JSON.stringify({
        type: "webauthn.get",
        challenge: lies.challenge ?? (options.challenge as string),
        origin: lies.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const signed = concat(authData, await sha256(clientDataJSON));
    const raw = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        credential.keys.privateKey,
        signed as BufferSource,
      ),
    );
    return {
      id: base64url(credential.id),
      rawId: base64url(credential.id),
      type: "public-key",
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
      response: {
        clientDataJSON: base64url(clientDataJSON),
        authenticatorData: base64url(authData),
        signature: base64url(rawToDer(raw)),
        userHandle: credential.userHandle,
      },
    };
  }
}
