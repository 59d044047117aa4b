import { getTableColumns, type SQL, sql } from "drizzle-orm";
import { getTableConfig, type SQLiteColumn, type SQLiteTable } from "drizzle-orm/sqlite-core";
import * as z from "zod/mini";
import { isAdmin, type Principal } from "../kernel/principal";
import { readsAuth, relationsRead } from "../query/analyze";
import { type Expr, FilterError } from "../query/ast";
import {
  type CompileContext,
  clientFilterLimits,
  compileFilter,
  type ResolvedField,
} from "../query/compile";
import { parseFilter } from "../query/parser";
import { tableShape } from "./column-schemas";
import { columnName } from "./columns";
import type { CollectionDefinition, Operation } from "./define";
import { serverManaged } from "./define";

export interface FieldInfo {
  key: string;
  column: SQLiteColumn;
  /** A JSON array column (filters compare its elements). */
  multi: boolean;
  notNull: boolean;
}

/** A rule after parsing: everyone, admins only, or an expression. */
export type CompiledRule =
  | { kind: "everyone" }
  | { kind: "admins" }
  | {
      kind: "expr";
      expr: Expr;
      readsAuth: boolean;
      /** Relation fields the rule follows: its answer also depends on those collections. */
      relations: string[];
    };

/** Everything the REST layer needs about a collection, computed once at start. */
export interface CollectionModel {
  name: string;
  def: CollectionDefinition;
  table: SQLiteTable;
  fields: Map<string, FieldInfo>;
  /** Fields that may appear in responses, filters and sorts. */
  readable: string[];
  hidden: Set<string>;
  /** Fields sealed at rest (never filtered, sorted, put in events or shared caches). */
  encrypted: Set<string>;
  owner: string | undefined;
  /**
   * Relation fields → the collection they point at: declared with `relations`, or derived from
   * a drizzle foreign key to another collection's `id`.
   */
  relations: Map<string, CollectionModel>;
  /** Collections with a relation to this one (a delete here may cascade into them). */
  dependents: CollectionModel[];
  rules: Record<Operation, CompiledRule>;
  /** A create body: the writable fields (strict: any other field is a problem). */
  createSchema: WriteSchema;
  /** An update body: the writable, non-immutable fields, all optional (strict). */
  updateSchema: WriteSchema;
}

export type WriteSchema = z.ZodMiniObject<Record<string, z.core.$ZodType>, z.core.$strict>;

export type Models = Map<string, CollectionModel>;

const operations: Operation[] = ["list", "view", "create", "update", "delete"];

function compileRule(name: string, op: Operation, rule: string | null | undefined): CompiledRule {
  if (rule === undefined || rule === null) return { kind: "admins" };
  if (rule.trim() === "") return { kind: "everyone" };
  try {
    const expr = parseFilter(rule);
    return { kind: "expr", expr, readsAuth: readsAuth(expr), relations: relationsRead(expr) };
  } catch (err) {
    throw new Error(
      `Collection ${name}: ${op} rule ${JSON.stringify(rule)} is invalid: ${(err as Error).message}`,
    );
  }
}

/** Builds the runtime model of every collection and checks cross-references (relations, rules). */
export function buildModels(defs: readonly CollectionDefinition[]): Models {
  const models: Models = new Map();
  for (const def of defs) {
    if (models.has(def.name)) throw new Error(`Collection ${def.name} is defined twice.`);
    const columns = getTableColumns(def.table) as Record<string, SQLiteColumn>;
    for (const key of serverManaged) {
      if (!(key in columns))
        throw new Error(`Collection ${def.name}: table needs ...recordColumns() (missing ${key}).`);
    }
    const fields = new Map<string, FieldInfo>();
    for (const [key, column] of Object.entries(columns)) {
      fields.set(key, {
        key,
        column,
        multi: column.columnType === "SQLiteTextJson",
        notNull: column.notNull,
      });
    }
    const { options } = def;
    const hidden = new Set(["rev", ...(options.hidden ?? [])]);
    for (const key of [
      ...hidden,
      ...(options.readonly ?? []),
      ...(options.immutable ?? []),
      ...Object.keys(options.relations ?? {}),
    ]) {
      if (!fields.has(key))
        throw new Error(`Collection ${def.name}: option names unknown field ${key}.`);
    }
    if (options.owner !== undefined && !fields.has(options.owner)) {
      throw new Error(`Collection ${def.name}: owner field ${options.owner} is not a column.`);
    }
    const notWritable = new Set<string>([
      ...serverManaged,
      ...(options.readonly ?? []),
      ...(options.owner ? [options.owner] : []),
    ]);
    const notUpdatable = new Set([...notWritable, ...(options.immutable ?? [])]);
    // Built on first use (a write, or the OpenAPI document), not here: building the schemas
    // costs time per collection, which a Workers isolate would otherwise pay before its first
    // request.
    let createSchema: WriteSchema | undefined;
    let updateSchema: WriteSchema | undefined;
    const rules = Object.fromEntries(
      operations.map((op) => [op, compileRule(def.name, op, options.rules?.[op])]),
    ) as Record<Operation, CompiledRule>;
    models.set(def.name, {
      name: def.name,
      def,
      table: def.table,
      fields,
      readable: [...fields.keys()].filter((k) => !hidden.has(k)),
      hidden,
      encrypted: new Set(options.encrypted ?? []),
      owner: options.owner,
      relations: new Map(),
      dependents: [],
      rules,
      get createSchema() {
        createSchema ??= z.strictObject(
          tableShape(def.table, "insert", options.validate, (k) => !notWritable.has(k)),
        );
        return createSchema;
      },
      get updateSchema() {
        updateSchema ??= z.strictObject(
          tableShape(def.table, "update", options.validate, (k) => !notUpdatable.has(k)),
        );
        return updateSchema;
      },
    });
  }
  for (const model of models.values()) {
    for (const [key, target] of relationsOf(model, models)) {
      model.relations.set(key, target);
      if (!target.dependents.includes(model)) target.dependents.push(model);
    }
  }
  for (const model of models.values()) {
    // Compile every rule once against a placeholder caller, so a rule naming an unknown field
    // fails at start rather than on the first request.
    for (const op of operations) {
      const rule = model.rules[op];
      if (rule.kind === "expr") {
        try {
          compileFilter(rule.expr, compileContext(model, { kind: "anonymous" }, new Date(0), true));
        } catch (err) {
          throw new Error(`Collection ${model.name}: ${op} rule: ${(err as Error).message}`);
        }
      }
    }
  }
  return models;
}

/**
 * A collection's relations: the declared ones (`relations: { post: "posts" }`) and every
 * single-column drizzle foreign key to another collection's `id`; where both exist they must
 * name the same collection.
 */
function relationsOf(model: CollectionModel, models: Models): Map<string, CollectionModel> {
  const found = new Map<string, CollectionModel>();
  for (const [key, name] of Object.entries(model.def.options.relations ?? {})) {
    const target = models.get(name);
    if (target === undefined)
      throw new Error(
        `Collection ${model.name}: relation ${key} points at unknown collection ${name}.`,
      );
    found.set(key, target);
  }
  for (const fk of getTableConfig(model.table).foreignKeys) {
    const { columns, foreignColumns, foreignTable } = fk.reference();
    const target = [...models.values()].find((m) => m.table === foreignTable);
    if (target === undefined || columns.length !== 1 || foreignColumns[0]?.name !== "id") continue;
    const key = [...model.fields.values()].find((f) => f.column === columns[0])?.key;
    if (key === undefined) continue;
    const declared = found.get(key);
    if (declared !== undefined && declared !== target)
      throw new Error(
        `Collection ${model.name}: relation ${key} is declared to ${declared.name} but its foreign key points at ${target.name}.`,
      );
    found.set(key, target);
  }
  return found;
}

/** `@request.auth.*` values for a caller; an API key acts as its owner. */
export function authValues(principal: Principal): Record<string, string> {
  switch (principal.kind) {
    case "anonymous":
      return { id: "", role: "", kind: "anonymous" };
    case "user":
      return { id: principal.id, role: principal.role, kind: "user" };
    case "apiKey":
      return { id: principal.ownerId, role: "user", kind: "apiKey" };
  }
}

/**
 * Resolves filter field paths against a collection. Client filters (`trusted` false) cannot name
 * hidden fields — not even through a relation — so they cannot probe hidden data; a client path
 * through a relation (`post.title`) only sees related records the caller may view: the target's
 * view rule is part of the lookup, at every hop. Rules (`trusted`) are the developer's and read
 * related records as they are. `alias` names the table the fields belong to in the statement
 * (relation lookups alias their table, so a self-relation stays unambiguous).
 */
export function compileContext(
  model: CollectionModel,
  principal: Principal,
  now: Date,
  trusted: boolean,
  alias?: string,
  depth = 0,
): CompileContext {
  const fieldOf = (m: CollectionModel, key: string, pos: number): FieldInfo => {
    const info = m.fields.get(key);
    if (info === undefined || (!trusted && m.hidden.has(key))) {
      throw new FilterError(`unknown field ${JSON.stringify(key)} in ${m.name}`, pos);
    }
    if (m.encrypted.has(key))
      throw new FilterError(
        `${key} is encrypted at rest and cannot be filtered on (its stored values are ciphertext)`,
        pos,
      );
    return info;
  };
  return {
    auth: authValues(principal),
    now,
    ...(trusted ? {} : { limits: clientFilterLimits }),
    field(path, pos): ResolvedField {
      const [first, second] = path as [string, string | undefined];
      const info = fieldOf(model, first, pos);
      const local = columnRef(alias, info);
      if (second === undefined) return { sql: local, multi: info.multi };
      const target = model.relations.get(first);
      if (target === undefined) throw new FilterError(`${first} is not a relation`, pos);
      const remote = fieldOf(target, second, pos);
      const hop = `nb_r${depth + 1}_${first}`;
      const visible = trusted
        ? undefined
        : ruleCondition(target, "view", principal, now, hop, depth + 1);
      const subquery: SQL = sql`(SELECT ${columnRef(hop, remote)} FROM ${target.table} AS ${sql.identifier(hop)} WHERE ${sql.join(
        [
          sql`${columnRef(hop, target.fields.get("id")!)} = ${local}`,
          ...(visible === undefined ? [] : [visible === false ? sql`0` : sql`(${visible})`]),
        ],
        sql` AND `,
      )})`;
      return { sql: subquery, multi: remote.multi };
    },
  };
}

/** A column, qualified by `alias` when the statement names its table differently. */
function columnRef(alias: string | undefined, info: FieldInfo): SQL {
  return alias === undefined
    ? sql`${info.column}`
    : sql`${sql.identifier(alias)}.${sql.identifier(columnName(info.column))}`;
}

/**
 * The SQL condition a rule adds for this caller: `undefined` = no restriction (admins, or a rule
 * open to everyone), `false` = nobody but admins.
 */
export function ruleCondition(
  model: CollectionModel,
  op: Operation,
  principal: Principal,
  now: Date,
  alias?: string,
  depth = 0,
): SQL | undefined | false {
  if (isAdmin(principal)) return undefined;
  const rule = model.rules[op];
  if (rule.kind === "everyone") return undefined;
  if (rule.kind === "admins") return false;
  return compileFilter(rule.expr, compileContext(model, principal, now, true, alias, depth));
}
