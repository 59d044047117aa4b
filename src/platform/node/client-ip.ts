import { isIP } from "node:net";

/**
 * The client address a chain of `hops` trusted proxies reports in X-Forwarded-For. Each proxy
 * APPENDS the address it received the request from, so the entries a client can forge are on the
 * left: the client is the entry `hops` places from the right (hops = 1: the right-most, written
 * by the one proxy in front of us). Returns `undefined` when the header is missing, shorter than
 * the proxy chain (the request did not come through every proxy) or that entry is not an IP
 * address; the caller then uses the socket's peer address.
 */
export function forwardedClientIp(header: string | undefined, hops: number): string | undefined {
  if (header === undefined) return undefined;
  const entries = header.split(",").map((entry) => entry.trim());
  if (entries.length < hops) return undefined;
  const candidate = entries[entries.length - hops]!.replace(/^\[(.*)\]$/, "$1");
  return isIP(candidate) === 0 ? undefined : candidate;
}
