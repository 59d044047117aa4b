import { base64url, constantTimeEqual, fromBase64url } from "../kernel/crypto";

/**
 * Password hashes are self-describing: `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64url),
 * so parameters can be changed later and old hashes rewritten at the next successful login.
 *
 * Why PBKDF2-SHA256 at 100,000 iterations: it is the one KDF Web Crypto offers on both homes,
 * and production Workers refuse more than 100,000 iterations — a hash made in the Node home
 * must verify on Workers when a project moves there. Measured (`npm run bench:auth`): ~13 ms per
 * hash in Node and ~12 ms in workerd, which fits the paid plan's CPU budget but not the free
 * plan's 10 ms; PASSWORD_ITERATIONS lowers the cost there, knowingly.
 */
export const passwordParams = { iterations: 100_000, saltBytes: 16, hashBytes: 32 } as const;
/** Workers' hard cap; a stored hash above it could never be verified there. */
export const maxIterations = 100_000;
/** Below this a hash is too cheap to be worth the name. */
export const minIterations = 10_000;

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

async function derive(
  password: string,
  salt: Uint8Array,
  iterations: number,
  bytes: number,
): Promise<Uint8Array> {
  if (iterations > maxIterations)
    throw new Error(`PBKDF2 iterations above ${maxIterations} cannot run on Workers`);
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

export async function hashPassword(
  password: string,
  iterations: number = passwordParams.iterations,
): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(passwordParams.saltBytes));
  const hash = await derive(password, salt, checkIterations(iterations), passwordParams.hashBytes);
  return `pbkdf2-sha256$${iterations}$${base64url(salt)}$${base64url(hash)}`;
}

// Verified against when the account does not exist (at the configured cost), so both paths
// take the same time.
const dummy = (iterations: number) =>
  `pbkdf2-sha256$${iterations}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

/**
 * Checks a password against a stored hash (or a dummy, to spend the same time). `rehash` says
 * the stored hash was made with other parameters than `iterations`, the configured ones.
 */
export async function verifyPassword(
  password: string,
  stored: string | null | undefined,
  iterations: number = passwordParams.iterations,
): Promise<{ ok: boolean; rehash: boolean }> {
  const [scheme, iterationsText, saltText, hashText] = (stored ?? dummy(iterations)).split("$");
  if (scheme !== "pbkdf2-sha256" || !iterationsText || !saltText || !hashText)
    return { ok: false, rehash: false };
  const storedIterations = Number(iterationsText);
  if (
    !Number.isInteger(storedIterations) ||
    storedIterations < 1 ||
    storedIterations > maxIterations
  )
    return { ok: false, rehash: false };
  const expected = fromBase64url(hashText);
  const actual = await derive(password, fromBase64url(saltText), storedIterations, expected.length);
  const ok = constantTimeEqual(actual, expected) && stored !== undefined && stored !== null;
  return { ok, rehash: ok && storedIterations !== iterations };
}
