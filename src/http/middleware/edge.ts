import type { Context, Next } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { defaultPolicy } from "../../core/edge/cache-policy";
import {
  consistencyCookie,
  consistencyHeader,
  decodeToken,
  encodeToken,
  mergeToken,
} from "../../core/edge/consistency";
import { VersionMemo } from "../../core/edge/versions";
import { randomToken } from "../../core/kernel/crypto";
import { readsAuth, relationsRead } from "../../core/query/analyze";
import type { Expr } from "../../core/query/ast";
import { parseFilter } from "../../core/query/parser";
import { versionScope } from "../../core/records/commit";
import type { CollectionModel, CompiledRule, Models } from "../../core/records/model";
import type { AppEnv } from "../context";
import { type ShareDecision, sharedCache } from "./shared-cache";

const recordsPath = /^\/api\/collections\/([^/]+)\/records(?:\/([^/]+))?$/;

/**
 * Whether a collection GET may be shared between callers. An answer may be shared when nothing
 * that builds it reads the caller: not the rule, not the client filter, not the view rules of
 * related records the filter or an expansion reads (fields and sort name columns only). Such an
 * answer is the same for everyone but admins (who bypass rules): variant "all". One that reads
 * the caller is still the same for every *anonymous* caller (all `@request.auth.*` are ""), so
 * those share a separate entry. Admins-only rules, unparsable filters and `cache: false`
 * collections are never shared.
 */
export function shareForCollections(models: Models) {
  return (c: Context<AppEnv>): ShareDecision | undefined => {
    const match = recordsPath.exec(c.req.path);
    if (!match) return undefined;
    const model = models.get(safeDecode(match[1]!));
    if (model === undefined) return undefined;
    const isList = match[2] === undefined;
    const rule = model.rules[isList ? "list" : "view"];
    const expand = (c.req.query("expand") ?? "")
      .split(",")
      .map((k) => model.relations.get(k.trim()))
      .filter((name): name is string => name !== undefined && models.has(name))
      .map((name) => models.get(name)!);
    const filterText = isList ? c.req.query("filter") : undefined;
    const filter = filterDependencies(models, model, filterText);
    // Every collection the answer reads: rules and filters that follow a relation (`post.status`)
    // make it stale when the related records change, like an expansion does.
    const parts = [
      ruleDependencies(model, rule),
      filter ?? { readsAuth: false, collections: [] },
      ...expand.map((target) => {
        const view = ruleDependencies(target, target.rules.view);
        return { readsAuth: view.readsAuth, collections: [target.name, ...view.collections] };
      }),
    ];
    const read = new Set([model.name, ...parts.flatMap((p) => p.collections)]);
    const scopes = [...read].map((name) => versionScope(models.get(name)!));
    const policy =
      model.def.options.cache === false ? undefined : (model.def.options.cache ?? defaultPolicy);
    const anonymous = c.var.principal.kind === "anonymous";
    const readsCaller = parts.some((p) => p.readsAuth);
    const shareable =
      policy !== undefined &&
      filter !== undefined &&
      rule.kind !== "admins" &&
      (!readsCaller || anonymous);
    return {
      shareable,
      scopes,
      policy: policy ?? defaultPolicy,
      variant: readsCaller ? "anonymous" : "all",
    };
  };
}

interface Dependencies {
  /** The answer depends on who asks (`@request.auth.*`). */
  readsAuth: boolean;
  /** Collections other than the one asked whose records the answer reads. */
  collections: string[];
}

function ruleDependencies(model: CollectionModel, rule: CompiledRule): Dependencies {
  if (rule.kind !== "expr") return { readsAuth: false, collections: [] };
  return {
    readsAuth: rule.readsAuth,
    collections: rule.relations.flatMap((key) => model.relations.get(key) ?? []),
  };
}

/**
 * What a client filter reads: itself, and through each relation it follows, the target's view
 * rule (which the compiled lookup applies). `undefined` for a filter that does not parse.
 */
function filterDependencies(
  models: Models,
  model: CollectionModel,
  filter: string | undefined,
): Dependencies | undefined {
  if (filter === undefined || filter.trim() === "") return { readsAuth: false, collections: [] };
  let expr: Expr;
  try {
    expr = parseFilter(filter);
  } catch {
    return undefined;
  }
  const targets = relationsRead(expr)
    .map((key) => models.get(model.relations.get(key) ?? ""))
    .filter((m): m is CollectionModel => m !== undefined);
  const viewRules = targets.map((t) => ruleDependencies(t, t.rules.view));
  return {
    readsAuth: readsAuth(expr) || viewRules.some((d) => d.readsAuth),
    collections: [...targets.map((t) => t.name), ...viewRules.flatMap((d) => d.collections)],
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export interface EdgeOptions {
  memoMs: number;
  /** False: nothing is stored in the shared cache (answers still get ETags and 304s). */
  enabled: boolean;
  consistencyWindowMs: number;
}

/**
 * The edge layer of the collections API: the shared cache on GETs, reads routed to the replica
 * unless read-your-writes needs the primary, and a consistency token on every write's response
 * (header for API clients, cookie for browsers).
 */
export function collectionEdge(models: Models, options: EdgeOptions) {
  const memo = new VersionMemo(options.memoMs);
  const revalidateSecret = randomToken(24);
  const share = shareForCollections(models);
  const cache = sharedCache(
    options.enabled
      ? share
      : (c) => {
          const decision = share(c);
          return decision && { ...decision, shareable: false };
        },
    memo,
    revalidateSecret,
    options.consistencyWindowMs,
  );
  /**
   * After a write: learn the versions it produced (when reads see it at once) and hand the
   * caller a read-your-writes token (header for API clients, cookie for browsers).
   */
  function wrote(c: Context<AppEnv>, versions: Map<string, number>) {
    const { platform } = c.var;
    // When reads see this write at once, this isolate can move its cache keys forward now.
    // With a lagging replica it must not: an entry keyed by the new version could be filled
    // from a replica that has not caught up.
    if (platform.freshReads) for (const [scope, version] of versions) memo.learn(scope, version);
    const now = platform.clock.now().getTime();
    const existing = decodeToken(
      c.req.header(consistencyHeader) ?? getCookie(c, consistencyCookie),
      now,
      options.consistencyWindowMs,
    );
    const token = encodeToken(mergeToken(existing, versions, now + options.consistencyWindowMs));
    c.header(consistencyHeader, token);
    setCookie(c, consistencyCookie, token, {
      path: "/api",
      httpOnly: true,
      sameSite: "Lax",
      secure: new URL(c.req.url).protocol === "https:",
      maxAge: Math.ceil(options.consistencyWindowMs / 1000),
    });
  }
  return async function collectionEdgeMiddleware(c: Context<AppEnv>, next: Next) {
    if (c.req.method === "GET") return cache(c, next);
    await next();
    const versions = c.var.wrote;
    if (versions !== undefined && c.res.status < 300) wrote(c, versions);
  };
}
