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

export const defaultPolicy: CachePolicy = { maxAge: 0, sMaxAge: 10, staleWhileRevalidate: 30 };

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A strong ETag: the first 128 bits of the body's SHA-256. */
export async function etagOf(body: ArrayBuffer | Uint8Array | string): Promise<string> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `"${base64url(digest.slice(0, 16))}"`;
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
