import {
  type ExecutionResult,
  type FieldNode,
  type GraphQLField,
  type GraphQLLeafType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  getArgumentValues,
  getNamedType,
  getNullableType,
  getVariableValues,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { GraphQLContext } from "./context";

/**
 * The commonest reads without graphql-js's per-field machinery: a query whose root fields are
 * collection lists and by-id reads selecting scalar fields only (no nested records, fragments or
 * directives). Its root resolvers — the same ones, calling the same services with the same
 * rules — run as graphql-js would run them; only the projection of their rows onto the
 * selection (serialising each leaf with its own scalar) is done here, in one pass. graphql-js
 * spends ~0.6 µs a field on resolve info, type checks and promises: 100 µs+ for a page of 20
 * records, a quarter of a REST list's CPU (measured with bench/scenarios/graphql-compare.ts).
 *
 * Anything else — an error anywhere, a null in a non-null field, a shape not planned for —
 * answers `undefined` and the caller runs graphql-js's `execute`, so errors, paths and partial
 * data are always graphql-js's own. (A fallback re-runs the root resolvers: reads only.)
 * test/conformance/graphql.suite.ts checks both paths give byte-identical answers.
 */
export type FastPlan = { roots: RootPlan[] };

type Leaf =
  | { key: string; kind: "typename"; typename: string }
  | {
      key: string;
      kind: "field";
      name: string;
      resolve: GraphQLField<unknown, GraphQLContext>["resolve"];
      type: GraphQLLeafType;
      nonNull: boolean;
    };

type ConnectionPart =
  | { key: string; kind: "typename"; typename: string }
  | { key: string; kind: "items"; leaves: Leaf[] }
  | { key: string; kind: "object"; name: string; leaves: Leaf[]; nonNull: boolean }
  | { key: string; kind: "leaf"; leaf: Leaf };

type RootPlan =
  | { key: string; kind: "typename"; typename: string }
  | {
      key: string;
      kind: "record" | "connection";
      field: GraphQLField<unknown, GraphQLContext>;
      node: FieldNode;
      type: GraphQLOutputType;
      nonNull: boolean;
      leaves: Leaf[];
      parts: ConnectionPart[];
    };

/** Field selections with unique response keys, no directives, fragments or arguments on leaves. */
function plainFields(set: SelectionSetNode | undefined): FieldNode[] | undefined {
  if (set === undefined) return undefined;
  const keys = new Set<string>();
  const out: FieldNode[] = [];
  for (const selection of set.selections) {
    if (selection.kind !== Kind.FIELD) return undefined;
    if ((selection.directives?.length ?? 0) > 0) return undefined;
    const key = selection.alias?.value ?? selection.name.value;
    if (keys.has(key)) return undefined;
    keys.add(key);
    out.push(selection);
  }
  return out;
}

/** Leaves of an object type: scalar/enum fields with synchronous resolvers, or __typename. */
function leavesOf(type: GraphQLObjectType, set: SelectionSetNode | undefined): Leaf[] | undefined {
  const nodes = plainFields(set);
  if (nodes === undefined) return undefined;
  const fields = type.getFields();
  const leaves: Leaf[] = [];
  for (const node of nodes) {
    const key = node.alias?.value ?? node.name.value;
    if (node.name.value === "__typename") {
      leaves.push({ key, kind: "typename", typename: type.name });
      continue;
    }
    const field = fields[node.name.value];
    if (field === undefined || node.selectionSet !== undefined) return undefined;
    if ((node.arguments?.length ?? 0) > 0 || field.args.length > 0) return undefined;
    const named = getNamedType(field.type);
    if (!isLeafType(named) || isListType(getNullableType(field.type))) return undefined;
    leaves.push({
      key,
      kind: "field",
      name: node.name.value,
      // Our leaf resolvers read the row only (`_etag`, `<relation>Id`): no resolve info.
      resolve: field.resolve as GraphQLField<unknown, GraphQLContext>["resolve"],
      type: named,
      nonNull: isNonNullType(field.type),
    });
  }
  return leaves;
}

/**
 * The plan for an operation, or undefined when it is not a simple read. `roots` says which root
 * fields are collection lists and by-id reads (the others, e.g. `me`, are not planned).
 */
export function planFast(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  roots: Map<string, { kind: "list" | "byId" }>,
): FastPlan | undefined {
  if (operation.operation !== "query" || (operation.directives?.length ?? 0) > 0) return undefined;
  const query = schema.getQueryType();
  const nodes = plainFields(operation.selectionSet);
  if (query === null || query === undefined || nodes === undefined) return undefined;
  const plans: RootPlan[] = [];
  for (const node of nodes) {
    const key = node.alias?.value ?? node.name.value;
    if (node.name.value === "__typename") {
      plans.push({ key, kind: "typename", typename: query.name });
      continue;
    }
    const root = roots.get(node.name.value);
    const field = query.getFields()[node.name.value];
    if (root === undefined || field === undefined) return undefined;
    const nullable = getNullableType(field.type);
    if (!isObjectType(nullable)) return undefined;
    const base = { key, field, node, type: field.type, nonNull: isNonNullType(field.type) };
    if (root.kind === "byId") {
      const leaves = leavesOf(nullable, node.selectionSet);
      if (leaves === undefined) return undefined;
      plans.push({ ...base, kind: "record", leaves, parts: [] });
      continue;
    }
    const parts = connectionParts(nullable, node.selectionSet);
    if (parts === undefined) return undefined;
    plans.push({ ...base, kind: "connection", leaves: [], parts });
  }
  return { roots: plans };
}

function connectionParts(
  type: GraphQLObjectType,
  set: SelectionSetNode | undefined,
): ConnectionPart[] | undefined {
  const nodes = plainFields(set);
  if (nodes === undefined) return undefined;
  const fields = type.getFields();
  const parts: ConnectionPart[] = [];
  for (const node of nodes) {
    const key = node.alias?.value ?? node.name.value;
    if (node.name.value === "__typename") {
      parts.push({ key, kind: "typename", typename: type.name });
      continue;
    }
    const field = fields[node.name.value];
    if (field === undefined || (node.arguments?.length ?? 0) > 0 || field.resolve !== undefined)
      return undefined;
    const nullable = getNullableType(field.type);
    if (isListType(nullable)) {
      // items: [Record!]!
      const item = nullable.ofType;
      if (!isNonNullType(item) || !isObjectType(item.ofType) || !isNonNullType(field.type))
        return undefined;
      const leaves = leavesOf(item.ofType, node.selectionSet);
      if (leaves === undefined) return undefined;
      parts.push({ key, kind: "items", leaves });
    } else if (isObjectType(nullable)) {
      const leaves = leavesOf(nullable, node.selectionSet);
      if (leaves === undefined) return undefined;
      parts.push({
        key,
        kind: "object",
        name: node.name.value,
        leaves,
        nonNull: isNonNullType(field.type),
      });
    } else {
      const leaves = leavesOf(type, { kind: Kind.SELECTION_SET, selections: [node] });
      if (leaves === undefined) return undefined;
      parts.push({ key, kind: "leaf", leaf: leaves[0]! });
    }
  }
  return parts;
}

/** Thrown inside a fast run to hand the request back to graphql-js. */
const bail = Symbol("bail");

function project(leaves: Leaf[], row: unknown, ctx: GraphQLContext): Record<string, unknown> {
  if (typeof row !== "object" || row === null) throw bail;
  const out: Record<string, unknown> = {};
  for (const leaf of leaves) {
    if (leaf.kind === "typename") {
      out[leaf.key] = leaf.typename;
      continue;
    }
    const raw = leaf.resolve
      ? leaf.resolve(row, {}, ctx, undefined as never)
      : (row as Record<string, unknown>)[leaf.name];
    if (typeof raw === "function" || raw instanceof Promise) throw bail;
    if (raw === null || raw === undefined) {
      if (leaf.nonNull) throw bail;
      out[leaf.key] = null;
      continue;
    }
    const value = leaf.type.serialize(raw);
    if (value === null || value === undefined) throw bail;
    out[leaf.key] = value;
  }
  return out;
}

function connection(
  parts: ConnectionPart[],
  page: unknown,
  ctx: GraphQLContext,
): Record<string, unknown> {
  if (typeof page !== "object" || page === null) throw bail;
  const source = page as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    if (part.kind === "typename") out[part.key] = part.typename;
    else if (part.kind === "items") {
      const items = source.items;
      if (!Array.isArray(items)) throw bail;
      out[part.key] = items.map((row) => project(part.leaves, row, ctx));
    } else if (part.kind === "object") {
      const value = source[part.name];
      if (value === null || value === undefined) {
        if (part.nonNull) throw bail;
        out[part.key] = null;
      } else out[part.key] = project(part.leaves, value, ctx);
    } else Object.assign(out, project([part.leaf], source, ctx));
  }
  return out;
}

/**
 * Runs a planned read: the root resolvers (together, as graphql-js starts them), then the
 * projection. `undefined` whenever graphql-js must answer instead (see `FastPlan`).
 */
export async function runFast(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  plan: FastPlan,
  variables: Record<string, unknown> | undefined,
  context: GraphQLContext,
): Promise<ExecutionResult | undefined> {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, {
    maxErrors: 50,
  });
  if (coerced.errors !== undefined) return undefined;
  const query = schema.getQueryType()!;
  try {
    const values = await Promise.all(
      plan.roots.map((root) => {
        if (root.kind === "typename") return root.typename;
        const args = getArgumentValues(
          root.field as GraphQLField<unknown, unknown>,
          root.node,
          coerced.coerced,
        );
        const info: GraphQLResolveInfo = {
          fieldName: root.node.name.value,
          fieldNodes: [root.node],
          returnType: root.type,
          parentType: query,
          path: { prev: undefined, key: root.key, typename: query.name },
          schema,
          fragments: {},
          rootValue: undefined,
          operation,
          variableValues: coerced.coerced,
        };
        return root.field.resolve!(undefined, args, context, info);
      }),
    );
    const data: Record<string, unknown> = {};
    plan.roots.forEach((root, i) => {
      const value = values[i];
      if (root.kind === "typename") data[root.key] = value;
      else if (value === null || value === undefined) {
        if (root.nonNull) throw bail;
        data[root.key] = null;
      } else
        data[root.key] =
          root.kind === "record"
            ? project(root.leaves, value, context)
            : connection(root.parts, value, context);
    });
    return { data };
  } catch {
    // A resolver's error or anything unplanned: graphql-js answers, with its own errors.
    return undefined;
  }
}
