import type { Principal } from "../kernel/principal";
import { readsAuth, relationsRead } from "../query/analyze";
import type { Expr } from "../query/ast";
import { parseFilterOnce } from "../query/parser";
import { versionScope } from "../records/commit";
import type { CollectionModel, CompiledRule, Models } from "../records/model";
import { type CachePolicy, defaultPolicy } from "./cache-policy";

/** What a route says about a GET: may one response serve everyone, and what data it reads. */
export interface ShareDecision {
  /** The answer does not depend on the caller (nothing that builds it reads @request.auth). */
  shareable: boolean;
  /** Version scopes the answer is built from (e.g. "c:posts"). */
  scopes: string[];
  policy: CachePolicy;
  /** Who may share an entry: everyone but admins, or only anonymous callers. */
  variant: "all" | "anonymous";
}

/** A collection read, as plain values: which records, shaped how, for whom. */
export interface ShareQuery {
  collection: string;
  /** Set for a single record (the view rule applies), absent for a list. */
  id?: string | undefined;
  filter?: string | undefined;
  expand?: string | undefined;
  principal: Principal;
}

/**
 * Whether a collection GET may be shared between callers. An answer may be shared when nothing
 * that builds it reads the caller: not the rule, not the client filter, not the view rules of
 * related records the filter or an expansion reads (fields and sort name columns only). Such an
 * answer is the same for everyone but admins (who bypass rules): variant "all". One that reads
 * the caller is still the same for every *anonymous* caller (all `@request.auth.*` are ""), so
 * those share a separate entry. Admins-only rules, unparsable filters and `cache: false`
 * collections are never shared.
 */
export function shareDecision(models: Models, query: ShareQuery): ShareDecision | undefined {
  // Every GET of the collections API asks this; the answer depends only on the values in the
  // key (an unambiguous spelling: lengths before the free-form parts, the filter last), so it
  // is worked out once per shape. Filters are the client's: the memo forgets everything past
  // its bound rather than grow. Decisions are frozen, as they are shared.
  const isList = query.id === undefined;
  const expandText = query.expand ?? "";
  const key = `${isList ? "l" : "v"}${query.principal.kind === "anonymous" ? "a" : "-"}${query.collection.length}:${query.collection}${expandText.length}:${expandText}|${isList ? (query.filter ?? "") : ""}`;
  let memo = decisions.get(models);
  if (memo === undefined) {
    memo = new Map();
    decisions.set(models, memo);
  }
  const known = memo.get(key);
  if (known !== undefined || memo.has(key)) return known;
  const decision = decide(models, query);
  if (decision !== undefined) {
    Object.freeze(decision.scopes);
    Object.freeze(decision);
  }
  if (memo.size >= maxDecisions) memo.clear();
  memo.set(key, decision);
  return decision;
}
const decisions = new WeakMap<Models, Map<string, ShareDecision | undefined>>();
const maxDecisions = 2048;

function decide(models: Models, query: ShareQuery): ShareDecision | undefined {
  const model = models.get(query.collection);
  if (model === undefined) return undefined;
  const isList = query.id === undefined;
  const rule = model.rules[isList ? "list" : "view"];
  const expand = (query.expand ?? "")
    .split(",")
    .map((k) => model.relations.get(k.trim()))
    .filter((target): target is CollectionModel => target !== undefined);
  const filterText = isList ? query.filter : undefined;
  const filter = filterDependencies(model, filterText);
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
  const anonymous = query.principal.kind === "anonymous";
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
    collections: rule.relations.flatMap((key) => model.relations.get(key)?.name ?? []),
  };
}

/**
 * What a client filter reads: itself, and through each relation it follows, the target's view
 * rule (which the compiled lookup applies). `undefined` for a filter that does not parse.
 */
function filterDependencies(
  model: CollectionModel,
  filter: string | undefined,
): Dependencies | undefined {
  if (filter === undefined || filter.trim() === "") return { readsAuth: false, collections: [] };
  let expr: Expr;
  try {
    expr = parseFilterOnce(filter);
  } catch {
    return undefined;
  }
  const targets = relationsRead(expr)
    .map((key) => model.relations.get(key))
    .filter((m): m is CollectionModel => m !== undefined);
  const viewRules = targets.map((t) => ruleDependencies(t, t.rules.view));
  return {
    readsAuth: readsAuth(expr) || viewRules.some((d) => d.readsAuth),
    collections: [...targets.map((t) => t.name), ...viewRules.flatMap((d) => d.collections)],
  };
}
