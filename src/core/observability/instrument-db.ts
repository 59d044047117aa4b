import type { Client } from "@libsql/client";
import { currentTelemetry } from "./telemetry";

const timed = new Set([
  "execute",
  "batch",
  "executeMultiple",
  "migrate",
  "transaction",
  "commit",
  "rollback",
]);

function spanName(method: string, args: unknown[]): string {
  if (method !== "execute") return `db.${method}`;
  const first = args[0];
  const sql = typeof first === "string" ? first : (first as { sql?: string } | undefined)?.sql;
  const verb = typeof sql === "string" ? /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() : undefined;
  return `db.${verb ?? "execute"}`;
}

function instrument<T extends object>(target: T): T {
  return new Proxy(target, {
    get(obj, prop) {
      // On the client itself: its getters (closed) read private fields the proxy does not have.
      const value = Reflect.get(obj, prop);
      if (typeof value !== "function") return value;
      if (typeof prop !== "string" || !timed.has(prop)) return value.bind(obj);
      return async (...args: unknown[]) => {
        const telemetry = currentTelemetry();
        const run = async () => {
          const result = await value.apply(obj, args);
          // An interactive transaction's statements count too.
          return prop === "transaction" ? instrument(result as object) : result;
        };
        if (telemetry === undefined) return run();
        return telemetry.span(spanName(prop, args), "client", { "db.system": "libsql" }, run);
      };
    },
  });
}

/**
 * Wraps a libSQL client so every statement, batch and interactive transaction is timed as a
 * `db.*` span of the current request. Only the SQL verb is recorded — never the SQL text or
 * arguments, which can carry personal data.
 */
export function instrumentClient(client: Client): Client {
  return instrument(client);
}
