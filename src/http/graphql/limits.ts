import {
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import { maxLimit } from "../../core/records/list-params";
import { type GraphQLErrorCode, requestError } from "./errors";

/**
 * Limits on what one GraphQL request may ask for. They bound the work before anything runs:
 * the text (length, tokens), the shape (depth, aliases) and an estimate of the records it can
 * touch (cost). Introspection fields are held to their own depth (the standard introspection
 * query nests `ofType` about ten levels) and cost nothing (they read the in-memory schema).
 */
export const graphqlLimits = {
  /** Characters of the query text. */
  maxQueryLength: 20_000,
  /** Lexer tokens (the parser stops past this, before building a huge document). */
  maxTokens: 5_000,
  /** Nesting of fields, e.g. `posts { items { title } }` is 3. */
  maxDepth: 8,
  /** Nesting inside `__schema` / `__type`. */
  maxIntrospectionDepth: 15,
  /** Aliased fields in the operation (each can be a query of its own). */
  maxAliases: 30,
  /** Fields weighted by how many records each list can return. */
  maxCost: 20_000,
  /** Field visits while measuring (bounds fragments spread many times over). */
  maxVisits: 20_000,
} as const;

export interface Measured {
  depth: number;
  aliases: number;
  cost: number;
}

/** A list without `limit` returns the REST default page (30). */
const defaultLimit = 30;

class TooMuch extends Error {
  constructor(
    readonly code: GraphQLErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Measures an operation (fragments expanded) against `graphqlLimits`; throws a GraphQL error
 * with the limit's code (`QUERY_TOO_DEEP`, `TOO_MANY_ALIASES`, `QUERY_TOO_COMPLEX`) when one is
 * passed. A list field's children count once per record it may return: its `limit` argument
 * (a search's `k`; a literal or a variable), else the default page size.
 */
export function checkLimits(
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  isList: (fieldName: string) => boolean,
): Measured {
  const measured: Measured = { depth: 0, aliases: 0, cost: 0 };
  let visits = 0;
  const limitOf = (value: ValueNode | undefined): number => {
    let raw: unknown;
    if (value === undefined) raw = undefined;
    else if (value.kind === Kind.INT) raw = Number(value.value);
    else if (value.kind === Kind.VARIABLE) raw = variables[value.name.value];
    if (typeof raw !== "number" || !Number.isFinite(raw)) return defaultLimit;
    return Math.min(Math.max(Math.trunc(raw), 1), maxLimit);
  };
  const walk = (
    set: SelectionSetNode | undefined,
    depth: number,
    weight: number,
    introspection: boolean,
    rootLevel: boolean,
  ) => {
    for (const selection of set?.selections ?? []) {
      if (++visits > graphqlLimits.maxVisits)
        throw new TooMuch("QUERY_TOO_COMPLEX", "The query is too large to measure; simplify it.");
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        walk(
          fragments[selection.name.value]?.selectionSet,
          depth,
          weight,
          introspection,
          rootLevel,
        );
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth, weight, introspection, rootLevel);
        continue;
      }
      const name = selection.name.value;
      if (selection.alias !== undefined && selection.alias.value !== name) {
        if (++measured.aliases > graphqlLimits.maxAliases)
          throw new TooMuch(
            "TOO_MANY_ALIASES",
            `At most ${graphqlLimits.maxAliases} aliased fields per request.`,
          );
      }
      const inIntrospection = introspection || name === "__schema" || name === "__type";
      const level = depth + 1;
      if (inIntrospection) {
        if (level > graphqlLimits.maxIntrospectionDepth)
          throw new TooMuch(
            "QUERY_TOO_DEEP",
            `Introspection may nest at most ${graphqlLimits.maxIntrospectionDepth} levels.`,
          );
      } else {
        if (level > graphqlLimits.maxDepth)
          throw new TooMuch(
            "QUERY_TOO_DEEP",
            `Fields may nest at most ${graphqlLimits.maxDepth} levels deep.`,
          );
        measured.depth = Math.max(measured.depth, level);
        measured.cost += weight;
        if (measured.cost > graphqlLimits.maxCost)
          throw new TooMuch(
            "QUERY_TOO_COMPLEX",
            `The query could read too much (cost over ${graphqlLimits.maxCost}); ask for fewer fields, smaller pages or fewer lists.`,
          );
      }
      const list = rootLevel && isList(name);
      const childWeight = list
        ? weight *
          limitOf(
            selection.arguments?.find((a) => a.name.value === "limit" || a.name.value === "k")
              ?.value,
          )
        : weight;
      walk(selection.selectionSet, level, childWeight, inIntrospection, false);
    }
  };
  try {
    walk(operation.selectionSet, 0, 1, false, true);
  } catch (err) {
    if (err instanceof TooMuch) throw requestError(err.code, err.message);
    throw err;
  }
  return measured;
}
