import { type FieldNode, Kind, type SelectionSetNode, type ValueNode } from "graphql";
import type { CachePolicy } from "../../core/edge/cache-policy";
import { type ShareDecision, shareDecision } from "../../core/edge/share";
import type { Principal } from "../../core/kernel/principal";
import type { CollectionModel, Models } from "../../core/records/model";
import type { GraphQLEngine, GraphQLRequest } from "./engine";

/**
 * Whether a GraphQL query's answer may be shared between callers, built from the same share
 * decisions as the REST API's: every record-reading field counts as the REST read it performs
 * (a list with its filter, a by-id or related record under the view rule, a search as its list
 * and, with `near`, a view of that record — as REST's /search), and the answer is
 * shareable only if each of them is, with every collection they read among its version scopes
 * (so the edge cache's versioned invalidation is REST's). `me` reads the caller: never shared.
 * Mutations and queries that do not prepare get no decision (no caching).
 */
export function graphqlShareDecision(
  engine: GraphQLEngine,
  models: Models,
  request: GraphQLRequest,
  principal: Principal,
): ShareDecision | undefined {
  const text = engine.knownQuery(request);
  if (text === undefined) return undefined;
  const prepared = engine.prepare(text, request.operationName);
  if (!prepared.ok || prepared.value.operation.operation !== "query") return undefined;
  const decisions: ShareDecision[] = [];
  let readsCaller = false;
  const variables = request.variables ?? {};
  const stringArg = (value: ValueNode | undefined): string | undefined => {
    if (value === undefined) return undefined;
    if (value.kind === Kind.STRING) return value.value;
    if (value.kind === Kind.VARIABLE) {
      const v = variables[value.name.value];
      return typeof v === "string" ? v : undefined;
    }
    return undefined;
  };
  const { api } = engine;
  const fragments = prepared.value.fragments;
  /** The fields of a selection set with fragments flattened (each fragment once per set). */
  const fieldsOf = (set: SelectionSetNode | undefined): FieldNode[] => {
    const out: FieldNode[] = [];
    const seen = new Set<string>();
    const walk = (s: SelectionSetNode | undefined) => {
      for (const selection of s?.selections ?? []) {
        if (selection.kind === Kind.FIELD) out.push(selection);
        else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
        else if (!seen.has(selection.name.value)) {
          seen.add(selection.name.value);
          walk(fragments[selection.name.value]?.selectionSet);
        }
      }
    };
    walk(set);
    return out;
  };
  // Related records anywhere below: each is a view of its target under the target's view rule.
  const walkRecord = (model: CollectionModel, set: SelectionSetNode | undefined) => {
    for (const field of fieldsOf(set)) {
      const target = model.relations.get(field.name.value);
      if (target === undefined || field.selectionSet === undefined) continue;
      const d = shareDecision(models, { collection: target.name, id: "-", principal });
      if (d) decisions.push(d);
      walkRecord(target, field.selectionSet);
    }
  };
  const walkRoot = (set: SelectionSetNode | undefined) => {
    for (const field of fieldsOf(set)) {
      const name = field.name.value;
      if (name === "__typename" || name === "__schema" || name === "__type") continue;
      const arg = (n: string) => field.arguments?.find((a) => a.name.value === n)?.value;
      const searched = api.searches.get(name);
      if (searched !== undefined) {
        const reads = [
          shareDecision(models, {
            collection: searched.name,
            filter: stringArg(arg("filter")),
            principal,
          }),
          arg("near") === undefined
            ? undefined
            : shareDecision(models, { collection: searched.name, id: "-", principal }),
        ];
        if (reads[0] === undefined) readsCaller = true;
        for (const d of reads) if (d !== undefined) decisions.push(d);
        for (const items of fieldsOf(field.selectionSet))
          if (items.name.value === "items")
            for (const hit of fieldsOf(items.selectionSet))
              if (hit.name.value === "record") walkRecord(searched, hit.selectionSet);
        continue;
      }
      const root = api.roots.get(name);
      if (root === undefined) {
        // `me`, or anything else about the caller.
        readsCaller = true;
        continue;
      }
      const d = shareDecision(models, {
        collection: root.model.name,
        id: root.kind === "byId" ? "-" : undefined,
        filter: root.kind === "list" ? stringArg(arg("filter")) : undefined,
        principal,
      });
      if (d === undefined) {
        readsCaller = true;
        continue;
      }
      decisions.push(d);
      if (root.kind === "byId") walkRecord(root.model, field.selectionSet);
      else
        for (const items of fieldsOf(field.selectionSet))
          if (items.name.value === "items") walkRecord(root.model, items.selectionSet);
    }
  };
  walkRoot(prepared.value.operation.selectionSet);
  return combine(decisions, readsCaller);
}

function combine(decisions: ShareDecision[], readsCaller: boolean): ShareDecision | undefined {
  const scopes = [...new Set(decisions.flatMap((d) => d.scopes))].sort();
  const policy: CachePolicy =
    decisions.length === 0
      ? { maxAge: 0, sMaxAge: 10, staleWhileRevalidate: 30 }
      : {
          maxAge: Math.min(...decisions.map((d) => d.policy.maxAge)),
          sMaxAge: Math.min(...decisions.map((d) => d.policy.sMaxAge)),
          staleWhileRevalidate: Math.min(...decisions.map((d) => d.policy.staleWhileRevalidate)),
        };
  return {
    shareable: !readsCaller && decisions.every((d) => d.shareable),
    scopes,
    policy,
    variant: decisions.some((d) => d.variant === "anonymous") ? "anonymous" : "all",
  };
}
