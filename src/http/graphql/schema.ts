import {
  GraphQLBoolean,
  type GraphQLEnumType,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  GraphQLID,
  type GraphQLInputFieldConfigMap,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  type GraphQLResolveInfo,
  GraphQLSchema,
  GraphQLString,
  GraphQLUnionType,
} from "graphql";
import * as z from "zod/mini";
import { ApiError } from "../../core/kernel/errors";
import { recordEtag } from "../../core/records/ids";
import type { CollectionModel, Models } from "../../core/records/model";
import type { Record_ } from "../../core/records/read";
import { maxBatch } from "../../core/records/service";
import { type GraphQLContext, mergeVersions } from "./context";
import { type CollectionNames, collectionNames } from "./names";
import { fieldType } from "./scalars";
import { isSearchable, searchField } from "./search";
import { childSelections, selectedNames } from "./selection";

/** Where a record's ETag and collection travel on the objects resolvers return. */
const etagKey = Symbol("etag");
const collectionKey = Symbol("collection");
type Row = Record_ & { [etagKey]?: string; [collectionKey]?: string };

/** What the rest of the GraphQL layer needs to know about the generated schema. */
export interface GraphQLApi {
  schema: GraphQLSchema;
  /** Query root fields that read collections: list or by-id. */
  roots: Map<string, { kind: "list" | "byId"; model: CollectionModel }>;
  /** Query root fields that search a collection (`notesSearch`): REST's /search. */
  searches: Map<string, CollectionModel>;
  /** Per record type name: its collection, and its relation fields → target collection. */
  types: Map<string, { model: CollectionModel; relations: Map<string, CollectionModel> }>;
}

/**
 * Builds the GraphQL schema from the collection models — the same definitions that drive REST,
 * validation and OpenAPI — so nothing is declared twice. Per collection: a record type with its
 * readable fields (hidden ones do not exist here), relation fields as nested records (loaded in
 * batches under the target's view rule), a paginated list query, a by-id query, and create /
 * update / delete mutations whose inputs hold only fields a client may ever write, and a search
 * query for collections that declare `search` or `vector`. Plus `me`
 * and an atomic `batch`. Every resolver calls the record service (the REST API's engine): rules,
 * filters, validation and errors are the REST API's own.
 */
export function buildGraphQLApi(models: Models): GraphQLApi {
  const enums = new Map<string, GraphQLEnumType>();
  const entries = new Map<string, { model: CollectionModel; names: CollectionNames }>();
  for (const model of models.values())
    entries.set(model.name, { model, names: collectionNames(model.name) });
  const objectTypes = new Map<string, GraphQLObjectType>();
  const types: GraphQLApi["types"] = new Map();

  const pageInfo = new GraphQLObjectType({
    name: "PageInfo",
    fields: {
      hasNextPage: { type: new GraphQLNonNull(GraphQLBoolean) },
      endCursor: {
        type: GraphQLString,
        description: "Pass as `after` to read the next page; null on the last page.",
      },
    },
  });

  const typeOf = (model: CollectionModel) => objectTypes.get(model.name)!;

  for (const { model, names } of entries.values()) {
    const relations = new Map<string, CollectionModel>();
    objectTypes.set(
      model.name,
      new GraphQLObjectType<Row, GraphQLContext>({
        name: names.type,
        description: `A record of the ${model.name} collection.`,
        fields: () => {
          const fields: GraphQLFieldConfigMap<Row, GraphQLContext> = {};
          for (const key of model.readable) {
            const info = model.fields.get(key)!;
            const target = model.relations.get(key);
            if (target !== undefined) {
              relations.set(key, target);
              fields[key] = {
                type: typeOf(target),
                description: `The related ${target.name} record (null when you may not view it).`,
                resolve: (row, _args, ctx) =>
                  typeof row[key] === "string"
                    ? ctx.loader.load(target.name, row[key] as string)
                    : null,
              };
              if (!model.fields.has(`${key}Id`))
                fields[`${key}Id`] = {
                  type: info.notNull ? new GraphQLNonNull(GraphQLID) : GraphQLID,
                  description: `The id stored in ${key}.`,
                  resolve: (row) => row[key],
                };
              continue;
            }
            const type = fieldType(model, key, names.type, enums);
            fields[key] = { type: info.notNull ? new GraphQLNonNull(type) : type };
          }
          fields._etag = {
            type: GraphQLString,
            description:
              "The record's ETag, for `ifMatch`: set on by-id reads and mutation results, null in lists.",
            resolve: (row) => row[etagKey] ?? null,
          };
          return fields;
        },
      }),
    );
    types.set(names.type, { model, relations });
  }

  const query: GraphQLFieldConfigMap<unknown, GraphQLContext> = {};
  const mutation: GraphQLFieldConfigMap<unknown, GraphQLContext> = {};
  const roots: GraphQLApi["roots"] = new Map();
  const searches: GraphQLApi["searches"] = new Map();
  const batchFields: GraphQLInputFieldConfigMap = {};
  const batchPlans = new Map<
    string,
    { model: CollectionModel; method: "POST" | "PATCH" | "DELETE" }
  >();
  const idInput = new GraphQLInputObjectType({
    name: "IdInput",
    fields: { id: { type: new GraphQLNonNull(GraphQLID) } },
  });

  for (const { model, names } of entries.values()) {
    const type = typeOf(model);
    const connection = new GraphQLObjectType<{ items: Row[]; total?: number }, GraphQLContext>({
      name: `${names.type}Connection`,
      fields: {
        items: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type))) },
        pageInfo: { type: new GraphQLNonNull(pageInfo) },
        total: {
          type: GraphQLInt,
          description: "How many records match in all (counted only when selected).",
        },
      },
    });
    query[names.list] = listField(model, connection);
    roots.set(names.list, { kind: "list", model });
    query[names.byId] = byIdField(model, type);
    roots.set(names.byId, { kind: "byId", model });
    if (isSearchable(model)) {
      query[names.search] = searchField(model, names, type, (selected) =>
        wantedKeys(model, selected),
      );
      searches.set(names.search, model);
    }

    const createInput = inputType(model, `${names.type}CreateInput`, "create", names.type, enums);
    const updateInput = inputType(model, `${names.type}UpdateInput`, "update", names.type, enums);
    mutation[names.create] = {
      type: new GraphQLNonNull(type),
      description: `Creates a ${model.name} record (the create rule decides).`,
      args: createInput ? { data: { type: new GraphQLNonNull(createInput) } } : {},
      async resolve(_root, args: { data?: Record_ }, ctx) {
        const { value, versions } = await ctx.services.records.create(
          ctx.principal,
          model.name,
          inputObject(args.data),
        );
        ctx.wrote = mergeVersions(ctx.wrote, versions);
        return withEtag(value.record, value.rev);
      },
    };
    batchFields[names.create] = { type: createInput ?? idInputless(names.type) };
    batchPlans.set(names.create, { model, method: "POST" });
    if (updateInput) {
      mutation[names.update] = {
        type: new GraphQLNonNull(type),
        description: `Updates a ${model.name} record; \`ifMatch\` (its _etag) makes a stale write fail with PRECONDITION_FAILED.`,
        args: {
          id: { type: new GraphQLNonNull(GraphQLID) },
          data: { type: new GraphQLNonNull(updateInput) },
          ifMatch: { type: GraphQLString },
        },
        async resolve(_root, args: { id: string; data: Record_; ifMatch?: string | null }, ctx) {
          const { value, versions } = await ctx.services.records.update(
            ctx.principal,
            model.name,
            args.id,
            inputObject(args.data),
            { ifMatch: args.ifMatch ?? undefined },
          );
          ctx.wrote = mergeVersions(ctx.wrote, versions);
          return withEtag(value.record, value.rev);
        },
      };
      batchFields[names.update] = {
        type: new GraphQLInputObjectType({
          name: `${names.type}BatchUpdate`,
          fields: {
            id: { type: new GraphQLNonNull(GraphQLID) },
            data: { type: new GraphQLNonNull(updateInput) },
          },
        }),
      };
      batchPlans.set(names.update, { model, method: "PATCH" });
    }
    mutation[names.delete] = {
      type: new GraphQLNonNull(GraphQLID),
      description: `Deletes a ${model.name} record and returns its id; \`ifMatch\` as for updates.`,
      args: { id: { type: new GraphQLNonNull(GraphQLID) }, ifMatch: { type: GraphQLString } },
      async resolve(_root, args: { id: string; ifMatch?: string | null }, ctx) {
        const { versions } = await ctx.services.records.remove(ctx.principal, model.name, args.id, {
          ifMatch: args.ifMatch ?? undefined,
        });
        ctx.wrote = mergeVersions(ctx.wrote, versions);
        ctx.deletedFrom.add(model.name);
        return args.id;
      },
    };
    batchFields[names.delete] = { type: idInput };
    batchPlans.set(names.delete, { model, method: "DELETE" });
  }

  const me = new GraphQLObjectType({
    name: "User",
    description: "The signed-in account.",
    fields: {
      id: { type: new GraphQLNonNull(GraphQLID) },
      email: { type: new GraphQLNonNull(GraphQLString) },
      name: { type: new GraphQLNonNull(GraphQLString) },
      role: { type: new GraphQLNonNull(GraphQLString) },
      emailVerified: { type: new GraphQLNonNull(GraphQLBoolean) },
      created: { type: new GraphQLNonNull(GraphQLString) },
    },
  });
  query.me = {
    type: me,
    description:
      "The caller's account; null when anonymous. As GET /api/auth/me, it needs an access token: with an API key it is an UNAUTHENTICATED error.",
    resolve: (_root, _args, ctx) =>
      ctx.principal.kind === "anonymous" ? null : ctx.services.accounts.me(ctx.principal),
  };

  const anyRecord = new GraphQLUnionType({
    name: "AnyRecord",
    types: () => [...objectTypes.values()],
    resolveType: (row: Row) => collectionNames(row[collectionKey]!).type,
  });
  const batchOperation = new GraphQLInputObjectType({
    name: "BatchOperation",
    description: "One write of a batch: exactly one of the fields.",
    isOneOf: true,
    fields: batchFields,
  });
  mutation.batch = {
    type: new GraphQLNonNull(
      new GraphQLList(
        new GraphQLNonNull(
          new GraphQLObjectType({
            name: "BatchResult",
            fields: {
              status: {
                type: new GraphQLNonNull(GraphQLInt),
                description: "201 created, 200 updated, 204 deleted (as in /api/batch).",
              },
              record: { type: anyRecord },
            },
          }),
        ),
      ),
    ),
    description: `Up to ${maxBatch} writes in one transaction, all or nothing: the same engine path as POST /api/batch.`,
    args: {
      operations: {
        type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(batchOperation))),
      },
    },
    async resolve(_root, args: { operations: Record<string, Record_>[] }, ctx) {
      if (args.operations.length > maxBatch)
        throw new ApiError("VALIDATION_FAILED", `A batch holds at most ${maxBatch} operations.`);
      const planned = args.operations.map((op) => {
        const [field, value] = Object.entries(op)[0]!;
        const { model, method } = batchPlans.get(field)!;
        const input = inputObject(value);
        if (method === "POST")
          return { model, op: { method, collection: model.name, body: input } };
        if (method === "PATCH")
          return {
            model,
            op: {
              method,
              collection: model.name,
              id: input.id,
              body: inputObject(input.data as Record_),
            },
          };
        return { model, op: { method, collection: model.name, id: input.id } };
      });
      const { value, versions } = await ctx.services.records.batch(ctx.principal, {
        operations: planned.map((p) => p.op),
      });
      ctx.wrote = mergeVersions(ctx.wrote, versions);
      for (const p of planned) if (p.op.method === "DELETE") ctx.deletedFrom.add(p.model.name);
      return value.map((result, i) => ({
        status: result.status,
        record:
          result.body === undefined
            ? null
            : Object.assign(result.body, { [collectionKey]: planned[i]!.model.name }),
      }));
    },
  };

  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: "Query", fields: query }),
    mutation: new GraphQLObjectType({ name: "Mutation", fields: mutation }),
  });
  return { schema, roots, searches, types };
}

/** A GraphQL input object as a plain object (GraphQL gives them a null prototype). */
function inputObject(value: Record_ | undefined): Record_ {
  return value === undefined ? {} : { ...value };
}

function withEtag(record: Record_, rev: number): Row {
  return Object.assign(record, { [etagKey]: recordEtag(record.id as string, rev) });
}

/** A create input for a collection whose records take no client fields. */
function idInputless(typeName: string) {
  return new GraphQLInputObjectType({
    name: `${typeName}CreateNothing`,
    fields: {
      _: { type: GraphQLBoolean, description: "Unused: this collection takes no fields." },
    },
  });
}

/**
 * The input type of create or update: the fields the collection's own validation schema accepts
 * (never server-managed, readonly or owner fields; update also drops immutable ones), minus
 * hidden fields, which do not exist in the GraphQL schema at all. Required on create exactly
 * when the validation schema requires them; all optional on update. Undefined when empty.
 */
function inputType(
  model: CollectionModel,
  name: string,
  op: "create" | "update",
  typeName: string,
  enums: Map<string, GraphQLEnumType>,
): GraphQLInputObjectType | undefined {
  const shape: Record<string, z.core.$ZodType> = (
    op === "create" ? model.createSchema : model.updateSchema
  ).shape;
  const fields: GraphQLInputFieldConfigMap = {};
  for (const [key, schema] of Object.entries(shape)) {
    if (model.hidden.has(key) || !model.fields.has(key)) continue;
    const type = fieldType(model, key, typeName, enums);
    const required = op === "create" && !z.safeParse(schema, undefined).success;
    fields[key] = { type: required ? new GraphQLNonNull(type) : type };
  }
  return Object.keys(fields).length === 0
    ? undefined
    : new GraphQLInputObjectType({ name, fields });
}

/** The record fields a selection asks for, as collection keys ("id" always). */
function wantedKeys(model: CollectionModel, names: Set<string>) {
  const keys = new Set(["id"]);
  const related: string[] = [];
  for (const name of names) {
    if (model.readable.includes(name)) {
      keys.add(name);
      if (model.relations.has(name)) related.push(name);
    } else if (name.endsWith("Id") && model.relations.has(name.slice(0, -2)))
      keys.add(name.slice(0, -2));
  }
  return { keys: [...keys], related };
}

function listField(
  model: CollectionModel,
  connection: GraphQLObjectType,
): GraphQLFieldConfig<unknown, GraphQLContext> {
  return {
    type: new GraphQLNonNull(connection),
    description: `Lists ${model.name} records the list rule lets you see.`,
    args: {
      filter: {
        type: GraphQLString,
        description:
          "A filter in Nearbase's filter language, as in REST (`status = 'published' && created > '2026-01-01'`).",
      },
      sort: {
        type: GraphQLString,
        description: "Comma-separated fields, `-` for descending (default `-created`).",
      },
      limit: { type: GraphQLInt, description: "Page size, 1 to 200 (default 30)." },
      after: { type: GraphQLString, description: "The previous page's `pageInfo.endCursor`." },
    },
    async resolve(
      _root,
      args: {
        filter?: string | null;
        sort?: string | null;
        limit?: number | null;
        after?: string | null;
      },
      ctx,
      info: GraphQLResolveInfo,
    ) {
      const names = new Set<string>();
      for (const set of childSelections(info, info.fieldNodes, "items"))
        selectedNames(info, set, names);
      const top = new Set<string>();
      for (const node of info.fieldNodes) selectedNames(info, node.selectionSet, top);
      const { keys, related } = wantedKeys(model, names);
      const params: Record<string, string | undefined> = {
        filter: args.filter ?? undefined,
        sort: args.sort ?? undefined,
        limit: args.limit === null || args.limit === undefined ? undefined : String(args.limit),
        cursor: args.after ?? undefined,
        fields: keys.join(","),
        total: top.has("total") ? "true" : undefined,
      };
      const page = await ctx.services.records.list(
        ctx.principal,
        model.name,
        (name) => params[name],
        ctx.read,
      );
      // Every related record of the page in one query per relation, before the nested
      // resolvers ask for them one by one.
      await Promise.all(
        related.map((key) =>
          ctx.loader.prime(
            model.relations.get(key)!.name,
            page.items.map((r) => r[key]).filter((v): v is string => typeof v === "string"),
          ),
        ),
      );
      return {
        items: page.items,
        pageInfo: { hasNextPage: page.nextCursor !== null, endCursor: page.nextCursor },
        total: page.total ?? null,
      };
    },
  };
}

function byIdField(
  model: CollectionModel,
  type: GraphQLObjectType,
): GraphQLFieldConfig<unknown, GraphQLContext> {
  return {
    type,
    description: `One ${model.name} record by id; null when it does not exist or you may not view it.`,
    args: { id: { type: new GraphQLNonNull(GraphQLID) } },
    async resolve(_root, args: { id: string }, ctx, info) {
      const names = new Set<string>();
      for (const node of info.fieldNodes) selectedNames(info, node.selectionSet, names);
      const { keys } = wantedKeys(model, names);
      try {
        const { record, rev } = await ctx.services.records.view(
          ctx.principal,
          model.name,
          args.id,
          { fields: keys.join(",") },
          ctx.read,
        );
        return withEtag(record, rev);
      } catch (err) {
        // Missing and not visible are the same answer, as in REST's 404.
        if (err instanceof ApiError && err.code === "NOT_FOUND") return null;
        throw err;
      }
    },
  };
}
