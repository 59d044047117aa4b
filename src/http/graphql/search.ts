import {
  GraphQLEnumType,
  type GraphQLFieldConfig,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLResolveInfo,
  GraphQLString,
} from "graphql";
import type { CollectionModel } from "../../core/records/model";
import type { Record_ } from "../../core/records/read";
import { defaultK, maxK } from "../../core/search/service";
import type { GraphQLContext } from "./context";
import type { CollectionNames } from "./names";
import { childSelections, selectedNames } from "./selection";

/** keyword (FTS5), semantic (vectors) or hybrid (both, fused by reciprocal rank). */
export const searchModeType = new GraphQLEnumType({
  name: "SearchMode",
  description: "How a search ranks: keyword (full text), semantic (vectors) or hybrid (both).",
  values: { keyword: {}, semantic: {}, hybrid: {} },
});

/** Whether a collection is searchable: it declares `search` (full text) or `vector`. */
export function isSearchable(model: CollectionModel): boolean {
  const options = model.def.options as { search?: unknown; vector?: unknown };
  return options.search !== undefined || options.vector !== undefined;
}

interface SearchArgs {
  q?: string | null;
  k?: number | null;
  filter?: string | null;
  near?: string | null;
  mode?: string | null;
}

/**
 * `<collection>Search(q, k, filter, near, mode)`: the REST search endpoint's query
 * (GET /api/collections/<name>/search) through the same search service, so the list rule, the
 * filter, the argument checks and their errors (INVALID_QUERY, INVALID_FILTER, NOT_FOUND,
 * NOT_IMPLEMENTED without an embedder, UNAVAILABLE) are REST's. Only the record fields the
 * selection asks for are read (REST's `fields`); hidden ones are not in the record type at all.
 */
export function searchField(
  model: CollectionModel,
  names: CollectionNames,
  record: GraphQLObjectType,
  wanted: (names: Set<string>) => { keys: string[]; related: string[] },
): GraphQLFieldConfig<unknown, GraphQLContext> {
  const hit = new GraphQLObjectType({
    name: `${names.type}SearchHit`,
    fields: {
      score: {
        type: new GraphQLNonNull(GraphQLFloat),
        description:
          "Higher is nearer: 1 - cosine distance (semantic), -bm25 (keyword), the fused reciprocal rank (hybrid).",
      },
      distance: {
        type: GraphQLFloat,
        description: "The vector distance, when a vector ranked the hit.",
      },
      record: { type: new GraphQLNonNull(record) },
    },
  });
  const result = new GraphQLObjectType({
    name: `${names.type}SearchResult`,
    fields: {
      mode: { type: new GraphQLNonNull(searchModeType) },
      items: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(hit))) },
    },
  });
  return {
    type: new GraphQLNonNull(result),
    description: `Searches ${model.name} records the list rule lets you see, best first (as GET /api/collections/${model.name}/search).`,
    args: {
      q: { type: GraphQLString, description: "The text to search for (give q or near)." },
      k: { type: GraphQLInt, description: `How many hits, 1 to ${maxK} (default ${defaultK}).` },
      filter: {
        type: GraphQLString,
        description: "A filter in Nearbase's filter language, as for the list.",
      },
      near: {
        type: GraphQLID,
        description: "Records similar to this one (semantic; the record itself is left out).",
      },
      mode: {
        type: searchModeType,
        description:
          "Default: hybrid when the collection has both full text and vectors, else the one it has; semantic with near.",
      },
    },
    async resolve(_root, args: SearchArgs, ctx, info: GraphQLResolveInfo) {
      const selected = new Set<string>();
      const items = childSelections(info, info.fieldNodes, "items");
      for (const set of childSelections(
        info,
        items.map((selectionSet) => ({ selectionSet })),
        "record",
      ))
        selectedNames(info, set, selected);
      const { keys, related } = wanted(selected);
      const params: Record<string, string | undefined> = {
        q: args.q ?? undefined,
        k: args.k === null || args.k === undefined ? undefined : String(args.k),
        filter: args.filter ?? undefined,
        near: args.near ?? undefined,
        mode: args.mode ?? undefined,
        fields: keys.join(","),
      };
      const answer = await ctx
        .search()
        .search(ctx.principal, model.name, (name) => params[name], ctx.read);
      const records = answer.items.map((item) => item.record as Record_);
      await Promise.all(
        related.map((key) =>
          ctx.loader.prime(
            model.relations.get(key)!.name,
            records.map((r) => r[key]).filter((v): v is string => typeof v === "string"),
          ),
        ),
      );
      return answer;
    },
  };
}
