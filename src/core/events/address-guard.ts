/**
 * Which addresses a webhook may reach. Public addresses always; private ones (RFC 1918, CGNAT,
 * IPv6 ULA) only for an endpoint explicitly allowed to; loopback only when the server allows it
 * (WEBHOOK_ALLOW_LOOPBACK: development and tests); link-local (which holds cloud metadata at
 * 169.254.169.254), multicast and reserved ranges never.
 */
export type AddressClass = "public" | "private" | "loopback" | "link-local" | "reserved";

export interface AddressPolicy {
  allowPrivate: boolean;
  allowLoopback: boolean;
}

export function allowed(kind: AddressClass, policy: AddressPolicy): boolean {
  if (kind === "public") return true;
  if (kind === "private") return policy.allowPrivate;
  if (kind === "loopback") return policy.allowLoopback;
  return false;
}

function ipv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

function classifyV4(bytes: readonly number[]): AddressClass {
  const a = bytes[0]!;
  const b = bytes[1]!;
  if (a === 127) return "loopback";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 100 && b >= 64 && b <= 127) return "private";
  if (a === 169 && b === 254) return "link-local";
  if (a === 0 || a >= 224 || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)))
    return "reserved";
  return "public";
}

/** Expands an IPv6 literal to 8 hextets (undefined when it is not one). */
function ipv6(text: string): number[] | undefined {
  let s = text.toLowerCase();
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4).
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const v4 = ipv4(dotted[1]!);
    if (!v4) return undefined;
    s = `${s.slice(0, dotted.index)}:${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === "" ? [] : h.split(":"));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!all.every((h) => /^[0-9a-f]{1,4}$/.test(h))) return undefined;
  return all.map((h) => Number.parseInt(h, 16));
}

function classifyV6(h: number[]): AddressClass {
  const zeroPrefix = h.slice(0, 5).every((x) => x === 0);
  if (zeroPrefix && h[5] === 0xffff) return classifyV4([h[6]! >> 8, h[6]! & 255]);
  if (h[0] === 0x64 && h[1] === 0xff9b && h.slice(2, 6).every((x) => x === 0))
    return classifyV4([h[6]! >> 8, h[6]! & 255]);
  if (h.slice(0, 7).every((x) => x === 0)) return h[7] === 1 ? "loopback" : "reserved";
  if ((h[0]! & 0xfe00) === 0xfc00) return "private";
  if ((h[0]! & 0xffc0) === 0xfe80) return "link-local";
  if ((h[0]! & 0xff00) === 0xff00) return "reserved";
  return "public";
}

/** The class of an IP literal, or undefined when `address` is not one. */
export function classifyIp(address: string): AddressClass | undefined {
  const bare = address.startsWith("[") ? address.slice(1, -1) : address;
  const v4 = ipv4(bare);
  if (v4) return classifyV4(v4);
  const v6 = ipv6(bare);
  return v6 ? classifyV6(v6) : undefined;
}

/** Host names that mean this machine or a cloud's internal network, whatever DNS says. */
export function classifyName(host: string): AddressClass | undefined {
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return "loopback";
  if (name === "metadata.google.internal" || name.endsWith(".internal")) return "link-local";
  if (name.endsWith(".local")) return "private";
  return undefined;
}

/** Resolves a host name to its addresses (Node: DNS); homes that cannot resolve pass none. */
export type Resolve = (host: string) => Promise<string[]>;

/**
 * Why `url` may not be called under `policy`, or undefined when it may. Checks the literal host,
 * well-known internal names, and every address the name resolves to.
 */
export async function refuseAddress(
  url: URL,
  policy: AddressPolicy,
  resolve?: Resolve,
): Promise<string | undefined> {
  const host = url.hostname;
  const literal = classifyIp(host);
  if (literal !== undefined)
    return allowed(literal, policy) ? undefined : `${host} is a ${literal} address`;
  const named = classifyName(host);
  if (named !== undefined && !allowed(named, policy)) return `${host} names a ${named} address`;
  if (resolve === undefined) return undefined;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return `${host} does not resolve`;
  }
  for (const address of addresses) {
    const kind = classifyIp(address) ?? "reserved";
    if (!allowed(kind, policy)) return `${host} resolves to a ${kind} address (${address})`;
  }
  return undefined;
}
