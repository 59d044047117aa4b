import {
  ClientDataType,
  COSEKeyType,
  coseAlgorithmEdDSA,
  coseAlgorithmES256,
  coseAlgorithmRS256,
  coseEllipticCurveEd25519,
  coseEllipticCurveP256,
  parseAttestationObject,
  parseAuthenticatorData,
  parseClientDataJSON,
} from "@oslojs/webauthn";
import { base64url, fromBase64url } from "../kernel/crypto";

/**
 * WebAuthn Level 3 ceremonies, verified on the server: @oslojs/webauthn parses the client data,
 * authenticator data, attestation object and COSE key; signatures are checked with Web Crypto
 * (native in both homes: no pure-JS curve arithmetic on the Workers CPU budget). Attestation is
 * "none": the attestation statement is not verified (nor trusted) whatever its format, as the
 * relying party asked for none. Pure functions: storage and challenges live in passkeys.ts.
 */

/** Where ceremonies must come from: PUBLIC_URL's host (or PASSKEY_RP_ID) and its origins. */
export interface RelyingParty {
  id: string;
  name: string;
  origins: readonly string[];
}

/** Why a ceremony was refused (logged; the caller only hears "could not be verified"). */
export class WebAuthnError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "WebAuthnError";
  }
}

/** Algorithms offered and accepted: EdDSA, ES256, RS256 (what authenticators implement). */
export const supportedAlgorithms = [coseAlgorithmEdDSA, coseAlgorithmES256, coseAlgorithmRS256];

const utf8 = new TextEncoder();

function bytes(b64: string, what: string): Uint8Array {
  try {
    return fromBase64url(b64);
  } catch {
    throw new WebAuthnError(`${what} is not base64url`);
  }
}

/** Client data checks shared by both ceremonies: type, origin, no cross-origin iframe. */
function checkClientData(clientDataJSON: Uint8Array, type: ClientDataType, rp: RelyingParty) {
  let clientData: ReturnType<typeof parseClientDataJSON>;
  try {
    clientData = parseClientDataJSON(clientDataJSON);
  } catch {
    throw new WebAuthnError("client data malformed");
  }
  if (clientData.type !== type) throw new WebAuthnError("client data of the wrong ceremony");
  if (!rp.origins.includes(clientData.origin))
    throw new WebAuthnError(
      `origin ${JSON.stringify(clientData.origin.slice(0, 100))} not allowed`,
    );
  if (clientData.crossOrigin === true) throw new WebAuthnError("cross-origin ceremony");
  return { challenge: base64url(clientData.challenge) };
}

/** The flags byte of authenticator data: user present/verified, backup eligible/state. */
function flags(authenticatorData: Uint8Array) {
  const f = authenticatorData[32] ?? 0;
  return {
    userPresent: (f & 0x01) !== 0,
    userVerified: (f & 0x04) !== 0,
    backupEligible: (f & 0x08) !== 0,
    backupState: (f & 0x10) !== 0,
  };
}

/** Reads a registration's client data, to find its challenge before anything else is checked. */
export function registrationChallenge(clientDataJSON: string, rp: RelyingParty): string {
  return checkClientData(bytes(clientDataJSON, "clientDataJSON"), ClientDataType.Create, rp)
    .challenge;
}

/** Reads an assertion's client data, to find its challenge before anything else is checked. */
export function assertionChallenge(clientDataJSON: string, rp: RelyingParty): string {
  return checkClientData(bytes(clientDataJSON, "clientDataJSON"), ClientDataType.Get, rp).challenge;
}

/** A verified new credential, ready to store. */
export interface NewCredential {
  credentialId: string;
  publicKey: JsonWebKey;
  algorithm: number;
  signCount: number;
  backupEligible: boolean;
  backupState: boolean;
  aaguid: string;
}

/**
 * Verifies a registration (after its challenge was found and spent): RP ID hash, user present
 * AND verified (passkeys replace a password, so the authenticator must have checked the person),
 * the credential id matching the one the client reports, a supported algorithm and key.
 */
export function verifyRegistration(
  response: { rawId: string; attestationObject: string },
  rp: RelyingParty,
): NewCredential {
  let attestation: ReturnType<typeof parseAttestationObject>;
  const encoded = bytes(response.attestationObject, "attestationObject");
  try {
    attestation = parseAttestationObject(encoded);
  } catch {
    throw new WebAuthnError("attestation object malformed");
  }
  const data = attestation.authenticatorData;
  if (!data.verifyRelyingPartyIdHash(rp.id)) throw new WebAuthnError("RP ID hash mismatch");
  if (!data.userPresent || !data.userVerified) throw new WebAuthnError("user not verified");
  const credential = data.credential;
  if (credential === null) throw new WebAuthnError("no attested credential");
  const credentialId = base64url(credential.id);
  if (credentialId !== response.rawId) throw new WebAuthnError("credential id mismatch");
  if (credential.id.length > 1023) throw new WebAuthnError("credential id too long");
  const { publicKey, algorithm } = toJwk(credential.publicKey);
  // The flags byte sits at the same offset in the raw authenticator data (after the RP ID hash).
  const rawFlags = flags(rawAuthenticatorData(encoded));
  return {
    credentialId,
    publicKey,
    algorithm,
    signCount: data.signatureCounter,
    backupEligible: rawFlags.backupEligible,
    backupState: rawFlags.backupState,
    aaguid: hex(credential.authenticatorAAGUID),
  };
}

/**
 * The raw authenticator data inside an attestation object (the parser keeps only its fields, and
 * the backup flags are not among them): the byte string after the CBOR text key "authData".
 */
function rawAuthenticatorData(attestationObject: Uint8Array): Uint8Array {
  const key = [0x68, ...utf8.encode("authData")];
  outer: for (let i = 0; i + key.length + 3 <= attestationObject.length; i++) {
    for (let j = 0; j < key.length; j++) if (attestationObject[i + j] !== key[j]) continue outer;
    const at = i + key.length;
    const head = attestationObject[at]!;
    const start = head === 0x58 ? at + 2 : head === 0x59 ? at + 3 : -1;
    if (start < 0) break;
    return attestationObject.subarray(start);
  }
  throw new WebAuthnError("attestation object malformed");
}

/** A stored credential, as verification needs it. */
export interface StoredCredential {
  publicKey: JsonWebKey;
  algorithm: number;
  signCount: number;
}

/** What a verified assertion tells: the new counter and backup state. */
export interface VerifiedAssertion {
  signCount: number;
  backupState: boolean;
  userVerified: boolean;
}

/**
 * Verifies an assertion (after its challenge was found and spent): RP ID hash, user present and
 * verified, the signature over authenticatorData ‖ SHA-256(clientDataJSON) with the stored key,
 * and the signature counter, which must grow when either side counts (a counter that does not
 * grow means a cloned authenticator).
 */
export async function verifyAssertion(
  response: { clientDataJSON: string; authenticatorData: string; signature: string },
  stored: StoredCredential,
  rp: RelyingParty,
): Promise<VerifiedAssertion> {
  const authenticatorData = bytes(response.authenticatorData, "authenticatorData");
  let data: ReturnType<typeof parseAuthenticatorData>;
  try {
    data = parseAuthenticatorData(authenticatorData);
  } catch {
    throw new WebAuthnError("authenticator data malformed");
  }
  if (!data.verifyRelyingPartyIdHash(rp.id)) throw new WebAuthnError("RP ID hash mismatch");
  if (!data.userPresent || !data.userVerified) throw new WebAuthnError("user not verified");
  const clientDataHash = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      bytes(response.clientDataJSON, "clientDataJSON") as BufferSource,
    ),
  );
  const message = new Uint8Array(authenticatorData.length + 32);
  message.set(authenticatorData);
  message.set(clientDataHash, authenticatorData.length);
  const signature = bytes(response.signature, "signature");
  if (!(await verifySignature(stored, signature, message)))
    throw new WebAuthnError("signature invalid");
  const counter = data.signatureCounter;
  if ((counter !== 0 || stored.signCount !== 0) && counter <= stored.signCount)
    throw new WebAuthnError("signature counter did not grow (cloned authenticator?)");
  return {
    signCount: counter,
    backupState: flags(authenticatorData).backupState,
    userVerified: data.userVerified,
  };
}

async function verifySignature(
  stored: StoredCredential,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  const data = message as BufferSource;
  try {
    if (stored.algorithm === coseAlgorithmES256) {
      const key = await crypto.subtle.importKey(
        "jwk",
        stored.publicKey,
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      const raw = derToRaw(signature);
      if (raw === undefined) return false;
      return await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        raw as BufferSource,
        data,
      );
    }
    if (stored.algorithm === coseAlgorithmEdDSA) {
      const key = await crypto.subtle.importKey(
        "jwk",
        stored.publicKey,
        { name: "Ed25519" },
        false,
        ["verify"],
      );
      return await crypto.subtle.verify({ name: "Ed25519" }, key, signature as BufferSource, data);
    }
    if (stored.algorithm === coseAlgorithmRS256) {
      const key = await crypto.subtle.importKey(
        "jwk",
        stored.publicKey,
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false,
        ["verify"],
      );
      return await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature as BufferSource, data);
    }
  } catch {
    return false;
  }
  return false;
}

/** An ASN.1 DER ECDSA signature (SEQUENCE of two INTEGERs) as P-256's raw r ‖ s (64 bytes). */
export function derToRaw(der: Uint8Array): Uint8Array | undefined {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined;
  const out = new Uint8Array(64);
  let at = 2;
  for (const half of [0, 32]) {
    if (der[at] !== 0x02) return undefined;
    const length = der[at + 1]!;
    let value = der.subarray(at + 2, at + 2 + length);
    if (value.length !== length) return undefined;
    while (value.length > 32 && value[0] === 0) value = value.subarray(1);
    if (value.length > 32) return undefined;
    out.set(value, half + 32 - value.length);
    at += 2 + length;
  }
  return at === der.length ? out : undefined;
}

/** A COSE public key as a JWK Web Crypto imports; only the supported algorithms and curves. */
function toJwk(key: import("@oslojs/webauthn").COSEPublicKey): {
  publicKey: JsonWebKey;
  algorithm: number;
} {
  let algorithm: number;
  try {
    algorithm = key.algorithm();
  } catch {
    throw new WebAuthnError("public key without algorithm");
  }
  try {
    if (algorithm === coseAlgorithmES256 && key.type() === COSEKeyType.EC2) {
      const ec = key.ec2();
      if (ec.curve !== coseEllipticCurveP256) throw new WebAuthnError("unsupported curve");
      return {
        algorithm,
        publicKey: {
          kty: "EC",
          crv: "P-256",
          x: base64url(bigintBytes(ec.x, 32)),
          y: base64url(bigintBytes(ec.y, 32)),
        },
      };
    }
    if (algorithm === coseAlgorithmEdDSA && key.type() === COSEKeyType.OKP) {
      const okp = key.okp();
      if (okp.curve !== coseEllipticCurveEd25519) throw new WebAuthnError("unsupported curve");
      return { algorithm, publicKey: { kty: "OKP", crv: "Ed25519", x: base64url(okp.x) } };
    }
    if (algorithm === coseAlgorithmRS256 && key.type() === COSEKeyType.RSA) {
      const rsa = key.rsa();
      return {
        algorithm,
        publicKey: {
          kty: "RSA",
          n: base64url(bigintBytes(rsa.n)),
          e: base64url(bigintBytes(rsa.e)),
        },
      };
    }
  } catch (err) {
    if (err instanceof WebAuthnError) throw err;
    throw new WebAuthnError("public key malformed");
  }
  throw new WebAuthnError(`unsupported algorithm ${algorithm}`);
}

function bigintBytes(value: bigint, length?: number): Uint8Array {
  let hexText = value.toString(16);
  if (hexText.length % 2 === 1) hexText = `0${hexText}`;
  const out = new Uint8Array(hexText.length / 2);
  for (let i = 0; i < out.length; i++)
    out[i] = Number.parseInt(hexText.slice(i * 2, i * 2 + 2), 16);
  if (length === undefined || out.length === length) return out;
  if (out.length > length) throw new WebAuthnError("public key malformed");
  const padded = new Uint8Array(length);
  padded.set(out, length - out.length);
  return padded;
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** The user handle an account's passkeys carry: its id's UTF-8 bytes, base64url. */
export const userHandle = (userId: string) => base64url(utf8.encode(userId));

/**
 * The relying party from the settings: RP ID = PASSKEY_RP_ID or PUBLIC_URL's host (which must
 * be the RP ID or under it, as browsers require), origins = PUBLIC_URL's plus PASSKEY_ORIGINS.
 * Throws at start on an RP ID the public URL cannot use.
 */
export function relyingPartyFrom(
  publicUrl: string,
  settings: { rpId: string | undefined; rpName: string; origins: readonly string[] },
): RelyingParty {
  const url = new URL(publicUrl);
  const id = settings.rpId ?? url.hostname;
  if (url.hostname !== id && !url.hostname.endsWith(`.${id}`))
    throw new Error(
      `PASSKEY_RP_ID ${id} is not PUBLIC_URL's host ${url.hostname} or a suffix of it`,
    );
  return { id, name: settings.rpName, origins: [url.origin, ...settings.origins] };
}
