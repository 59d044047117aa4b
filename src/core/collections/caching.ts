import type { Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import {
  consistencyCookie,
  consistencyHeader,
  decodeToken,
  encodeToken,
  mergeToken,
} from "../cache/consistency";
import { defaultPolicy } from "../cache/http";
import { type ShareDecision, sharedCache } from "../cache/shared-cache";
import { VersionMemo } from "../cache/versions";
import { randomToken } from "../crypto";
import type { AppEnv } from "../http/context";
import { parseFilter } from "../query/parser";
import { relationsRead } from "../query/print";
import { versionScope } from "./commit";
import type { CollectionModel, CompiledRule, Models } from "./model";
import type { RouterHooks } from "./router";

const recordsPath = /^\/api\/collections\/([^/]+)\/records(?:\/([^/]+))?$/;

/**
 * Whether a collection GET may be shared between callers. The answer depends only on the rule:
 * one that does not read `@request.auth` gives everyone (but admins, who bypass rules) the same
 * answer; one that does still gives every *anonymous* caller the same answer, so those share a
 * separate entry. Admins-only rules and `cache: false` collections are never shared.
 */
export function shareForCollections(models: Models) {
  return (c: Context<AppEnv>): ShareDecision | undefined => {
    const match = recordsPath.exec(c.req.path);
    if (!match) return undefined;
    const model = models.get(decodeURIComponent(match[1]!));
    if (model === undefined) return undefined;
    const rule = model.rules[match[2] === undefined ? "list" : "view"];
    const expand = (c.req.query("expand") ?? "")
      .split(",")
      .map((k) => model.relations.get(k.trim()))
      .filter((name): name is string => name !== undefined && models.has(name));
    // Every collection the answer reads: rules and filters that follow a relation (`post.status`)
    // make it stale when the related records change, like an expansion does.
    const read = new Set([
      model.name,
      ...expand,
      ...collectionsRead(model, rule),
      ...(match[2] === undefined ? filterReads(model, c.req.query("filter")) : []),
      ...expand.flatMap((name) => collectionsRead(models.get(name)!, models.get(name)!.rules.view)),
    ]);
    const scopes = [...read].map((name) => versionScope(models.get(name)!));
    const policy =
      model.def.options.cache === false ? undefined : (model.def.options.cache ?? defaultPolicy);
    const anonymous = c.var.principal.kind === "anonymous";
    const everyone = rule.kind === "everyone" || (rule.kind === "expr" && !rule.readsAuth);
    const expandedShareable = expand.every((name) => {
      const r = models.get(name)!.rules.view;
      return r.kind === "everyone" || (r.kind === "expr" && (!r.readsAuth || anonymous));
    });
    const shareable =
      policy !== undefined &&
      rule.kind !== "admins" &&
      (everyone || anonymous) &&
      expandedShareable;
    return {
      shareable,
      scopes,
      policy: policy ?? defaultPolicy,
      variant: everyone && expand.length === 0 ? "all" : "anonymous",
    };
  };
}

function collectionsRead(model: CollectionModel, rule: CompiledRule): string[] {
  if (rule.kind !== "expr") return [];
  return rule.relations.flatMap((key) => model.relations.get(key) ?? []);
}

/** Collections a client filter reaches through relations; a filter that fails to parse reads none. */
function filterReads(model: CollectionModel, filter: string | undefined): string[] {
  if (filter === undefined || model.relations.size === 0 || !filter.includes(".")) return [];
  try {
    return relationsRead(parseFilter(filter)).flatMap((key) => model.relations.get(key) ?? []);
  } catch {
    return [];
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
  const middleware = sharedCache(
    options.enabled
      ? share
      : (c) => {
          const decision = share(c);
          return decision && { ...decision, shareable: false };
        },
    memo,
    revalidateSecret,
  );
  const hooks: RouterHooks = {
    readClient: (c) => (c.var.readPrimary ? c.var.platform.sql : c.var.platform.replica),
    wrote(c, versions) {
      const { platform } = c.var;
      // With no separate replica, reads see this write at once, so this isolate can move its
      // cache keys forward now. With a replica it must not: an entry keyed by the new version
      // could be filled from a replica that has not caught up.
      if (platform.replica === platform.sql)
        for (const [scope, version] of versions) memo.learn(scope, version);
      const now = platform.clock.now().getTime();
      const existing = decodeToken(
        c.req.header(consistencyHeader) ?? getCookie(c, consistencyCookie),
        now,
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
    },
  };
  return { middleware, hooks };
}
