/**
 * HTTP caching semantics shared by every GET: strong ETags from the body, If-None-Match (weak
 * comparison, as RFC 9110 §13.1.2 requires), and Cache-Control from a policy.
 */
export interface CachePolicy {
  /** Seconds a browser may reuse the response without asking. */
  maxAge: number;
  /** Seconds a shared cache (our edge cache, a CDN) may reuse it. */
  sMaxAge: number;
  /** Seconds past s-maxage a stale copy may be served while it is refreshed in the background. */
  staleWhileRevalidate: number;
}

/**
 * Seconds past s-maxage + stale-while-revalidate a shared entry is kept to be served when the
 * database cannot be reached (stale-if-error, labelled `X-Cache: STALE-IF-ERROR`), never otherwise.
 */
export const staleIfErrorSeconds = 600;

export const defaultPolicy: CachePolicy = { maxAge: 0, sMaxAge: 10, staleWhileRevalidate: 30 };

/**
 * cyrb53 (a fast, well-mixed 53-bit string hash; public domain) with seeds 1 and 2 in one pass
 * over `bytes`: 106 bits.
 */
function cyrb53Pair(bytes: Uint8Array): string {
  let a1 = 0xdeadbeef ^ 1;
  let a2 = 0x41c6ce57 ^ 1;
  let b1 = 0xdeadbeef ^ 2;
  let b2 = 0x41c6ce57 ^ 2;
  for (let i = 0; i < bytes.length; i++) {
    const ch = bytes[i]!;
    a1 = Math.imul(a1 ^ ch, 2654435761);
    a2 = Math.imul(a2 ^ ch, 1597334677);
    b1 = Math.imul(b1 ^ ch, 2654435761);
    b2 = Math.imul(b2 ^ ch, 1597334677);
  }
  return finish(a1, a2) + finish(b1, b2);
}

/**
 * The same pair over a string's UTF-8 bytes while all its characters are ASCII (one byte each,
 * equal to the character code); undefined at the first that is not.
 */
function cyrb53PairAscii(text: string): string | undefined {
  let a1 = 0xdeadbeef ^ 1;
  let a2 = 0x41c6ce57 ^ 1;
  let b1 = 0xdeadbeef ^ 2;
  let b2 = 0x41c6ce57 ^ 2;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch > 0x7f) return undefined;
    a1 = Math.imul(a1 ^ ch, 2654435761);
    a2 = Math.imul(a2 ^ ch, 1597334677);
    b1 = Math.imul(b1 ^ ch, 2654435761);
    b2 = Math.imul(b2 ^ ch, 1597334677);
  }
  return finish(a1, a2) + finish(b1, b2);
}

function finish(h1: number, h2: number): string {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/**
 * A strong ETag from the body: 106 bits of a fast non-cryptographic hash of its UTF-8 bytes plus
 * their count. ETags need to change when content changes, not resist forgery; a synchronous hash
 * keeps the hot path off the crypto thread pool (a measurable cost per response in the Node
 * home). An ASCII string (most JSON answers) is hashed as it is, without encoding it first.
 */
export function etagOf(body: ArrayBuffer | Uint8Array | string): string {
  if (typeof body === "string") {
    const ascii = cyrb53PairAscii(body);
    if (ascii !== undefined) return `"${ascii}-${body.length.toString(36)}"`;
  }
  const bytes =
    typeof body === "string"
      ? new TextEncoder().encode(body)
      : body instanceof Uint8Array
        ? body
        : new Uint8Array(body);
  return `"${cyrb53Pair(bytes)}-${bytes.length.toString(36)}"`;
}

/** True when `If-None-Match` names `etag` (or `*`), so the answer is 304 Not Modified. */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const want = opaque(etag);
  return header.split(",").some((tag) => opaque(tag) === want);
}

export function publicCacheControl(policy: CachePolicy): string {
  return `public, max-age=${policy.maxAge}, s-maxage=${policy.sMaxAge}, stale-while-revalidate=${policy.staleWhileRevalidate}`;
}

/** For responses that depend on who asks: never stored by any shared cache or the browser. */
export const privateCacheControl = "private, no-store";
