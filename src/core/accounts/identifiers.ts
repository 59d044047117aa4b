import * as z from "zod/mini";

/**
 * Identifiers people type or providers send (emails, names, key names) are checked here and only
 * here. A NUL or other control character in an email used to be stored and read back as another
 * address (libSQL text ends at NUL in some paths), so mail went elsewhere; an unpaired surrogate or
 * a bidi override in a name spoofs what an admin reads. Refused: C0/C1 controls, DEL, line and
 * paragraph separators, bidi embeddings/overrides/isolates, unpaired surrogates.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const unsafeText = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `text` is safe to store and show: no control or bidi characters, well-formed UTF-16. */
export function isPlainText(text: string): boolean {
  return !unsafeText.test(text) && !loneSurrogate.test(text);
}

const maxEmailLength = 254;
// RFC 5322 dot-atom local part (no quoted strings, no comments): what mail providers hand out.
const localPart = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The one email parser: trims, lower-cases, converts an internationalised domain to its ASCII
 * (punycode) form, and accepts only a dot-atom local part and a dotted host name with a
 * non-numeric top-level label. Returns `undefined` for anything else. Every entry point (sign-up,
 * log-in, forgot-password, OAuth profiles, scripts) goes through it, so one mailbox is one
 * account however it is typed and a stored address is exactly the one mail goes to.
 * Non-ASCII local parts (SMTPUTF8) are refused on purpose: they cannot be compared safely.
 */
export function parseEmail(input: string): string | undefined {
  if (typeof input !== "string" || input.length > maxEmailLength + 16) return undefined;
  // Only ASCII spaces around the address are forgiven; anything unsafe inside is refused.
  const trimmed = input.replace(/^[ \t]+|[ \t]+$/g, "");
  if (!isPlainText(trimmed)) return undefined;
  const at = trimmed.lastIndexOf("@");
  if (at <= 0 || at === trimmed.length - 1) return undefined;
  const local = trimmed.slice(0, at).toLowerCase();
  if (local.length > 64 || !localPart.test(local)) return undefined;
  const domain = asciiDomain(trimmed.slice(at + 1));
  if (domain === undefined) return undefined;
  const email = `${local}@${domain}`;
  return email.length <= maxEmailLength ? email : undefined;
}

function asciiDomain(raw: string): string | undefined {
  if (!/^[^\s/\\?#@:[\]%]+$/.test(raw)) return undefined;
  let host: string;
  try {
    // WHATWG URL parsing applies IDNA (lower-casing, punycode) the same way in Node and workerd.
    host = new URL(`http://${raw}/`).hostname;
  } catch {
    return undefined;
  }
  const labels = host.split(".");
  if (labels.length < 2 || host.length > 253) return undefined;
  if (!labels.every((l) => domainLabel.test(l))) return undefined;
  const tld = labels.at(-1)!;
  return /^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(tld) ? host : undefined;
}

/**
 * An email field in request bodies: parsed by `parseEmail`, reported at its path otherwise. The
 * OpenAPI document says what the parser accepts (format email, 6 to 254 characters: `a@b.co` is
 * the shortest), so clients generated from it send valid addresses; the raw string may be 16
 * longer for the surrounding spaces the parser forgives.
 */
export const emailSchema = z.pipe(
  z.string().check(
    z.maxLength(maxEmailLength + 16),
    z.meta({
      format: "email",
      minLength: 6,
      maxLength: maxEmailLength,
      description:
        "An email address: a dot-atom ASCII local part (at most 64 characters) @ a host name whose last label is letters (an internationalised domain is read as its punycode); compared in lower case",
    }),
  ),
  z.transform((value: string, payload) => {
    const email = parseEmail(value);
    if (email === undefined) {
      payload.issues.push({ code: "custom", message: "must be an email address", input: value });
      return z.NEVER;
    }
    return email;
  }),
);

/** A short human-readable text field (names): trimmed, length-limited, no control characters. */
export const plainTextSchema = (max: number) =>
  z
    .string()
    .check(
      z.trim(),
      z.maxLength(max),
      z.refine(isPlainText, "must not contain control or direction-override characters"),
    );
