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
  // One wrapper per method, made on first use rather than on every call (a closure and a bound
  // function per statement before); remade if the method itself changes.
  const wrappers = new Map<string | symbol, { value: unknown; wrapper: unknown }>();
  return new Proxy(target, {
    get(obj, prop) {
      // On the client itself: its getters (closed) read private fields the proxy does not have.
      const value = Reflect.get(obj, prop);
      if (typeof value !== "function") return value;
      const known = wrappers.get(prop);
      if (known !== undefined && known.value === value) return known.wrapper;
      const wrapper =
        typeof prop !== "string" || !timed.has(prop)
          ? value.bind(obj)
          : timedMethod(obj, prop, value as (...args: unknown[]) => unknown);
      wrappers.set(prop, { value, wrapper });
      return wrapper;
    },
  });
}

/** `method` of `obj`, timed as a `db.*` span of the current request (if any). */
function timedMethod(obj: object, prop: string, value: (...args: unknown[]) => unknown) {
  // An interactive transaction's statements count too.
  const run =
    prop === "transaction"
      ? async (args: unknown[]) => instrument((await value.apply(obj, args)) as object)
      : (args: unknown[]) => value.apply(obj, args) as Promise<unknown>;
  return async (...args: unknown[]) => {
    const telemetry = currentTelemetry();
    if (telemetry === undefined) return run(args);
    return telemetry.span(spanName(prop, args), "client", { "db.system": "libsql" }, () =>
      run(args),
    );
  };
}

/**
 * Wraps a libSQL client so every statement, batch and interactive transaction is timed as a
 * `db.*` span of the current request. Only the SQL verb is recorded — never the SQL text or
 * arguments, which can carry personal data.
 */
export function instrumentClient(client: Client): Client {
  return instrument(client);
}
