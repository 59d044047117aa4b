import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type { LookupFunction } from "node:net";
import type { Agent } from "undici";
import { type AddressPolicy, allowed, classifyIp } from "../../core/events/address-guard";

/** `dns.lookup`'s callback form (tests pass their own "DNS"). */
export type Lookup = (
  hostname: string,
  options: { all: true; family?: number; hints?: number },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemLookup: Lookup = (hostname, options, callback) =>
  dnsLookup(hostname, options, callback);

/**
 * The address a webhook connects to is the address that was checked: each connection resolves
 * its host ONCE, inside the socket's own lookup, refuses the connection when any answer is an
 * address the endpoint may not reach, and otherwise connects to exactly those answers (TLS SNI
 * and Host still carry the name). So a name that answered "public" to an earlier check and
 * "127.0.0.1" now (DNS rebinding) is refused at connect time, not let through. One undici Agent
 * per policy, so pooled connections are only reused under the policy that checked them.
 * undici is loaded at the first delivery, not at start: it is the biggest module in the Node
 * bundle (~700 KiB), and a server without webhooks never needs it (scripts/build.ts splits it
 * into its own chunk).
 */
export function guardedDispatchers(lookup: Lookup = systemLookup) {
  const agents = new Map<string, Promise<Agent>>();
  return (policy: AddressPolicy): Promise<Agent> => {
    const key = `${policy.allowPrivate}/${policy.allowLoopback}`;
    let agent = agents.get(key);
    if (agent === undefined) {
      // `.default` is module.exports both under Node's own loader and in the bundle's chunk
      // (which exports nothing else).
      agent = import("undici").then(
        ({ default: undici }) =>
          new undici.Agent({ connect: { lookup: guardedLookup(policy, lookup) } }),
      );
      agents.set(key, agent);
    }
    return agent;
  };
}

function guardedLookup(policy: AddressPolicy, lookup: Lookup): LookupFunction {
  return (hostname, options, callback) => {
    const family = typeof options.family === "number" ? options.family : undefined;
    lookup(hostname, { family, hints: options.hints, all: true }, (err, list) => {
      if (err) return callback(err, []);
      for (const a of list) {
        const kind = classifyIp(a.address) ?? "reserved";
        if (!allowed(kind, policy)) {
          const refused = new Error(`${hostname} resolves to a ${kind} address (${a.address})`);
          return callback(Object.assign(refused, { code: "ERR_ADDRESS_REFUSED" }), []);
        }
      }
      if (list.length === 0)
        return callback(
          Object.assign(new Error(`${hostname} does not resolve`), { code: "ENOTFOUND" }),
          [],
        );
      if (options.all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
