import { scrypt } from "node:crypto";
import { base64url, constantTimeEqual, fromBase64url } from "../kernel/crypto";

/**
 * Password hashes are self-describing, so parameters can change and old hashes are rewritten
 * at the next successful log-in:
 *   `pbkdf2-sha256$<iterations>$<salt>$<hash>`   PBKDF2-HMAC-SHA256 (Web Crypto)
 *   `scrypt$<N>$<r>$<p>$<salt>$<hash>`            scrypt (node:crypto; memory-hard)
 * (salt and hash base64url; 16-byte salt, 32-byte hash). Both verify in both homes, so a project
 * can move between Node and Workers with its users.
 *
 * PASSWORD_PROFILE picks the cost (README "Password hashing" has the trade-off and numbers):
 *   free      PBKDF2 at 25,000 iterations: a whole log-in fits the Workers free plan's 10 ms CPU.
 *   standard  PBKDF2 at 100,000 iterations (the default): the most production Workers allow —
 *             their runtime refuses more, in Web Crypto and node:crypto alike (workerd's
 *             checkPbkdfLimits) — so OWASP's 600,000 is out of reach there.
 *   strong    scrypt N=2^14, r=8, p=5 (16 MiB): one of OWASP's equivalent scrypt settings,
 *             memory-hard, within workerd's scrypt cap (N·r·p ≤ 2^20) and its 128 MB isolate.
 *             ~170 ms CPU per hash in workerd: a paid plan, or the Node home.
 * PASSWORD_ITERATIONS (10,000–100,000) sets PBKDF2's iterations directly instead (tests).
 */
export type HashParams =
  | { kind: "pbkdf2-sha256"; iterations: number }
  | { kind: "scrypt"; n: number; r: number; p: number };

export type PasswordProfile = "free" | "standard" | "strong";

export const passwordProfiles: Record<PasswordProfile, HashParams> = {
  free: { kind: "pbkdf2-sha256", iterations: 25_000 },
  standard: { kind: "pbkdf2-sha256", iterations: 100_000 },
  strong: { kind: "scrypt", n: 16_384, r: 8, p: 5 },
};

/** The default parameters (the standard profile), kept for callers that name iterations. */
export const passwordParams = { iterations: 100_000, saltBytes: 16, hashBytes: 32 } as const;
/** Workers' hard cap; a stored hash above it could never be verified there. */
export const maxIterations = 100_000;
/** Below this a hash is too cheap to be worth the name. */
export const minIterations = 10_000;
/** workerd's scrypt cap (N·r·p) and the memory (128·N·r bytes) we allow one hash. */
const maxScryptCost = 2 ** 20;
const maxScryptMemory = 32 * 1024 * 1024;

export const passwordLimits = { min: 10, max: 256 } as const;

// The most common leaked passwords of 10+ characters (a short built-in list; no network).
const common = new Set(
  [
    "1234567890",
    "0123456789",
    "12345678910",
    "1q2w3e4r5t",
    "qwertyuiop",
    "1qaz2wsx3edc",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou123",
    "qwerty12345",
    "qwerty123456",
    "abcdefghij",
    "abc1234567",
    "1111111111",
    "0000000000",
    "123123123123",
    "letmein1234",
    "welcome123",
    "welcome1234",
    "administrator",
    "changeme123",
    "football123",
    "baseball123",
    "superman123",
    "trustno1234",
    "monkey12345",
    "dragon12345",
    "princess123",
    "sunshine123",
    "asdfghjkl1",
    "zxcvbnm123",
    "1234qwerasdf",
    "password!!",
    "p@ssw0rd123",
    "qazwsxedcrfv",
    "aaaaaaaaaa",
    "11111111111",
    "987654321098",
    "nearbase123",
  ].map((p) => p.toLowerCase()),
);

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, email: string): string | undefined {
  if (password.length < passwordLimits.min)
    return `must be at least ${passwordLimits.min} characters`;
  if (new TextEncoder().encode(password).length > passwordLimits.max)
    return `must be at most ${passwordLimits.max} bytes`;
  const lower = password.toLowerCase();
  if (common.has(lower)) return "is one of the most common passwords";
  if (new Set(password).size < 4) return "is too repetitive";
  const local = email.split("@")[0]?.toLowerCase() ?? "";
  if (local.length >= 4 && lower.includes(local)) return "must not contain your email name";
  return undefined;
}

/** The configured iteration count, checked: Workers cannot verify more than `maxIterations`. */
export function checkIterations(iterations: number): number {
  if (!Number.isInteger(iterations) || iterations < minIterations || iterations > maxIterations)
    throw new Error(`PBKDF2 iterations must be from ${minIterations} to ${maxIterations}`);
  return iterations;
}

/** Parameters from a number of PBKDF2 iterations (older callers) or as they are. */
function paramsOf(params: HashParams | number): HashParams {
  return typeof params === "number" ? { kind: "pbkdf2-sha256", iterations: params } : params;
}

/** Parameters both homes can verify (Workers' PBKDF2 and scrypt caps, bounded memory). */
function verifiable(params: HashParams): boolean {
  if (params.kind === "pbkdf2-sha256")
    return (
      Number.isInteger(params.iterations) &&
      params.iterations >= 1 &&
      params.iterations <= maxIterations
    );
  const { n, r, p } = params;
  return (
    [n, r, p].every((x) => Number.isInteger(x) && x >= 1) &&
    (n & (n - 1)) === 0 &&
    n > 1 &&
    n * r * p <= maxScryptCost &&
    128 * n * r <= maxScryptMemory
  );
}

async function pbkdf2(
  password: string,
  salt: Uint8Array,
  iterations: number,
  bytes: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

function scryptHash(
  password: string,
  salt: Uint8Array,
  { n, r, p }: { n: number; r: number; p: number },
  bytes: number,
): Promise<Uint8Array> {
  return new Promise((ok, fail) => {
    // Off the event loop in Node (libuv's pool); in workerd it runs in the request.
    scrypt(password, salt, bytes, { N: n, r, p, maxmem: 128 * n * r + 1024 * 1024 }, (err, key) =>
      err ? fail(err) : ok(new Uint8Array(key.buffer, key.byteOffset, key.byteLength)),
    );
  });
}

function derive(
  password: string,
  salt: Uint8Array,
  params: HashParams,
  bytes: number,
): Promise<Uint8Array> {
  if (!verifiable(params)) throw new Error("password hash parameters Workers cannot run");
  return params.kind === "pbkdf2-sha256"
    ? pbkdf2(password, salt, params.iterations, bytes)
    : scryptHash(password, salt, params, bytes);
}

function encode(params: HashParams, salt: Uint8Array, hash: Uint8Array): string {
  const head =
    params.kind === "pbkdf2-sha256"
      ? `pbkdf2-sha256$${params.iterations}`
      : `scrypt$${params.n}$${params.r}$${params.p}`;
  return `${head}$${base64url(salt)}$${base64url(hash)}`;
}

/** A stored hash's parameters, salt and hash, or undefined when it is not one of ours. */
function decode(stored: string): { params: HashParams; salt: string; hash: string } | undefined {
  const parts = stored.split("$");
  const numbers = (xs: string[]) =>
    xs.every((x) => /^\d{1,9}$/.test(x)) ? xs.map(Number) : undefined;
  if (parts[0] === "pbkdf2-sha256" && parts.length === 4) {
    const [iterations] = numbers([parts[1]!]) ?? [];
    if (iterations === undefined || !parts[2] || !parts[3]) return undefined;
    return { params: { kind: "pbkdf2-sha256", iterations }, salt: parts[2], hash: parts[3] };
  }
  if (parts[0] === "scrypt" && parts.length === 6) {
    const [n, r, p] = numbers(parts.slice(1, 4)) ?? [];
    if (n === undefined || r === undefined || p === undefined || !parts[4] || !parts[5])
      return undefined;
    return { params: { kind: "scrypt", n, r, p }, salt: parts[4], hash: parts[5] };
  }
  return undefined;
}

const same = (a: HashParams, b: HashParams) =>
  a.kind === "pbkdf2-sha256"
    ? b.kind === "pbkdf2-sha256" && a.iterations === b.iterations
    : b.kind === "scrypt" && a.n === b.n && a.r === b.r && a.p === b.p;

export async function hashPassword(
  password: string,
  params: HashParams | number = passwordProfiles.standard,
): Promise<string> {
  const chosen = paramsOf(params);
  if (chosen.kind === "pbkdf2-sha256") checkIterations(chosen.iterations);
  const salt = crypto.getRandomValues(new Uint8Array(passwordParams.saltBytes));
  return encode(chosen, salt, await derive(password, salt, chosen, passwordParams.hashBytes));
}

// Verified against when the account does not exist (with the configured parameters), so both
// paths cost the same.
const dummySalt = new Uint8Array(passwordParams.saltBytes);
const dummyHash = new Uint8Array(passwordParams.hashBytes);

/**
 * Checks a password against a stored hash (or a dummy, to spend the same time). `rehash` says
 * the stored hash was made with other parameters than `params`, the configured ones: the
 * caller rewrites it (stronger after a profile goes up; cheaper after it goes down, which costs
 * one verification at the old price).
 */
export async function verifyPassword(
  password: string,
  stored: string | null | undefined,
  params: HashParams | number = passwordProfiles.standard,
): Promise<{ ok: boolean; rehash: boolean }> {
  const configured = paramsOf(params);
  const found =
    stored === null || stored === undefined
      ? { params: configured, salt: base64url(dummySalt), hash: base64url(dummyHash) }
      : decode(stored);
  if (found === undefined || !verifiable(found.params)) return { ok: false, rehash: false };
  const expected = fromBase64url(found.hash);
  const actual = await derive(password, fromBase64url(found.salt), found.params, expected.length);
  const ok = constantTimeEqual(actual, expected) && stored !== undefined && stored !== null;
  return { ok, rehash: ok && !same(found.params, configured) };
}
