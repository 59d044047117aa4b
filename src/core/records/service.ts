import type { Client } from "@libsql/client";
import { sql } from "drizzle-orm";
import * as z from "zod/mini";
import { actorOf, type ChangeEvent } from "../events/outbox";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { refusal } from "../kernel/refusals";
import { validate } from "../kernel/validate";
import { openFields, type SealerSource, sealFields, touchesEncryption } from "../privacy/fields";
import { cascadesOf, commit, type Write } from "./commit";
import { isRecordId, recordEtag, recordIdPattern } from "./ids";
import { type ListParams, parseExpand, parseFieldList, parseListParams } from "./list-params";
import type { CollectionModel, Models } from "./model";
import {
  condition,
  firstRecord,
  listRecords,
  notFound,
  type Record_,
  type RecordContext,
  recordsByIds,
  viewRecord,
  where,
} from "./read";
import { statement } from "./sql";
import {
  createStatement,
  deleteStatement,
  explainNoop,
  missingRelation,
  newRecordId,
  relationChecks,
  updateStatement,
} from "./write";

export const maxBatch = 50;
/** The most ids one `viewMany` reads (a few pages of relations). */
export const maxViewMany = 1000;

/** Where reads go: `fresh` reads the primary (read-your-writes), else the nearest copy. */
export interface ReadOptions {
  fresh?: boolean;
}

/** A committed write: what it returns and the data versions it produced (cache invalidation). */
export interface Written<T> {
  value: T;
  versions: Map<string, number>;
}

/** A written record as clients see it, and its new revision (the ETag). */
export interface Saved {
  record: Record_;
  rev: number;
}

export interface BatchResult {
  status: 200 | 201 | 204;
  body?: Record_;
}

export interface RecordServiceDeps {
  models: Models;
  /** Every write, and reads that must be fresh. */
  primary: Client;
  /** The nearest copy for other reads. */
  replica: Client;
  now(): Date;
  /** The data keys for collections' `encrypted` fields (kernel/seal.ts). */
  sealer?: SealerSource;
}

/**
 * The collections engine as a service: list, view, create, update, delete and atomic batches,
 * each under the collection's rules for the given principal. No HTTP here — the REST routes,
 * and later GraphQL, realtime and privacy jobs, call these same functions. Errors are ApiErrors
 * with stable codes.
 */
export function createRecordService(deps: RecordServiceDeps) {
  const { models } = deps;
  const sealer: SealerSource = deps.sealer ?? (async () => undefined);
  /** Opens encrypted fields of records read from `model` (a no-op for most collections). */
  async function opened<T extends Record_>(model: CollectionModel, record: T): Promise<T> {
    if (touchesEncryption(model)) await openFields(sealer, models, model, record);
    return record;
  }

  function context(principal: Principal, read?: ReadOptions): RecordContext {
    return {
      models,
      principal,
      now: deps.now(),
      read: read?.fresh ? deps.primary : deps.replica,
      write: deps.primary,
    };
  }

  function modelOf(name: string): CollectionModel {
    const model = models.get(name);
    if (model === undefined)
      throw new ApiError(
        "UNKNOWN_COLLECTION",
        `There is no collection ${JSON.stringify(name.slice(0, 64))}.`,
      );
    return model;
  }

  function checkId(model: CollectionModel, id: string) {
    if (!isRecordId(id)) throw notFound(model, id);
  }

  async function run(ctx: RecordContext, writes: Write[], label: string) {
    return commit(ctx.write, ctx.now.getTime(), writes).catch((err) => mapWriteError(err, label));
  }

  return {
    models,
    /** The collection `name` (404 when unknown), checking `id` looks like a record id (else 404). */
    target(name: string, id?: string): CollectionModel {
      const model = modelOf(name);
      if (id !== undefined) checkId(model, id);
      return model;
    },

    /** A page of records the principal may list; `query` reads the list parameters by name. */
    async list(
      principal: Principal,
      name: string,
      query: ListParams | ((param: string) => string | undefined),
      read?: ReadOptions,
    ) {
      const model = modelOf(name);
      const params = typeof query === "function" ? parseListParams(model, query) : query;
      if (!touchesEncryption(model)) return listRecords(context(principal, read), model, params);
      // Encrypted values are bound to their record id: read it even when `fields` leaves it out.
      const withId = params.fields.includes("id");
      const page = await listRecords(
        context(principal, read),
        model,
        withId ? params : { ...params, fields: [...params.fields, "id"] },
      );
      // Opened side by side: Web Crypto runs them off the event loop (a page of 20 sealed values
      // cost 1.25 ms more than plain one after the other; npm run bench:privacy).
      await Promise.all(page.items.map((item) => opened(model, item)));
      if (!withId) for (const item of page.items) delete item.id;
      return page;
    },

    /** One record, with `fields` and `expand` as comma-separated lists (as in the REST API). */
    async view(
      principal: Principal,
      name: string,
      id: string,
      shape: { fields?: string | undefined; expand?: string | undefined } = {},
      read?: ReadOptions,
    ) {
      const model = modelOf(name);
      checkId(model, id);
      const fields = parseFieldList(model, shape.fields, "fields");
      const expand = parseExpand(model, shape.expand);
      const wanted = fields ?? model.readable;
      const withId = !touchesEncryption(model) || wanted.includes("id");
      const found = await viewRecord(
        context(principal, read),
        model,
        id,
        withId ? wanted : [...wanted, "id"],
        expand,
      );
      await opened(model, found.record);
      if (!withId) delete found.record.id;
      return { ...found, partial: fields !== undefined, expanded: expand.length > 0 };
    },

    /**
     * The records among `ids` the principal may view, in one query (GraphQL loads relations in
     * batches with it): a map by id holding `fields` (readable names; all when omitted). Ids that
     * are malformed, missing or not visible are absent, alike.
     */
    async viewMany(
      principal: Principal,
      name: string,
      ids: readonly string[],
      fields?: readonly string[],
      read?: ReadOptions,
    ): Promise<Map<string, Record_>> {
      const model = modelOf(name);
      const wanted = fields ?? model.readable;
      for (const field of wanted) {
        if (!model.readable.includes(field))
          throw new ApiError(
            "INVALID_QUERY",
            `unknown field ${JSON.stringify(field.slice(0, 64))}`,
          );
      }
      if (ids.length > maxViewMany)
        throw new ApiError("INVALID_QUERY", `At most ${maxViewMany} ids at once.`);
      const found = await recordsByIds(
        context(principal, read),
        model,
        ids.filter(isRecordId),
        wanted,
      );
      for (const record of found.values()) await opened(model, record);
      return found;
    },

    /**
     * `options.id` is the new record's id when the caller needs it first (files are stored
     * under it before the insert); `options.set` are server-set fields (file names), applied
     * after the body is validated.
     */
    async create(
      principal: Principal,
      name: string,
      body: unknown,
      options: { id?: string; set?: Record_ } = {},
    ): Promise<Written<Saved>> {
      const model = modelOf(name);
      const data = { ...validate(model.createSchema, body), ...options.set };
      const ctx = context(principal);
      const id = options.id ?? newRecordId(model);
      const create = createStatement(ctx, model, await sealFields(sealer, model, id, data), id);
      const done = await run(
        ctx,
        [
          {
            statement: create.statement,
            model,
            relations: relationChecks(ctx, model, data),
            event: { kind: "created", recordId: create.id, actor: actorOf(principal) },
          },
        ],
        model.name,
      );
      if (!done.ok) {
        if (done.relation !== undefined) throw missingRelation(done.relation);
        throw refusal(principal, `You may not create this ${model.name} record.`);
      }
      const record = firstRecord(done.results[0]!, create.returning)!;
      return { value: saved(model, await opened(model, record)), versions: done.versions };
    },

    async update(
      principal: Principal,
      name: string,
      id: string,
      body: unknown,
      options: { ifMatch?: string | undefined; set?: Record_ } = {},
    ): Promise<Written<Saved>> {
      const model = modelOf(name);
      checkId(model, id);
      const data = { ...validate(model.updateSchema, body), ...options.set };
      const ctx = context(principal);
      const update = updateStatement(
        ctx,
        model,
        id,
        await sealFields(sealer, model, id, data),
        options.ifMatch,
      );
      const done = await run(
        ctx,
        [
          {
            statement: update.statement,
            model,
            relations: relationChecks(ctx, model, data),
            event: updateEvent(model, id, data, principal),
          },
        ],
        model.name,
      );
      if (!done.ok) {
        if (done.relation !== undefined) throw missingRelation(done.relation);
        throw await explainNoop(ctx, model, id, update.expectedRev);
      }
      const record = firstRecord(done.results[0]!, update.returning)!;
      return { value: saved(model, await opened(model, record)), versions: done.versions };
    },

    /**
     * Throws what a refused update would (404 not visible, 403 forbidden) unless `principal`
     * may update record `id` now. Direct uploads ask before the bytes travel; the update that
     * finishes them checks the rule again as it commits.
     */
    async checkUpdate(principal: Principal, name: string, id: string): Promise<void> {
      const model = modelOf(name);
      checkId(model, id);
      const ctx = context(principal, { fresh: true });
      const idColumn = model.fields.get("id")!.column;
      const rs = await ctx.write.execute(
        statement(
          sql`SELECT 1 AS ok FROM ${model.table} WHERE ${where([condition(ctx, model, "update"), sql`${idColumn} = ${id}`])}`,
        ),
      );
      if (rs.rows.length === 0) throw await explainNoop(ctx, model, id, undefined);
    },

    async remove(
      principal: Principal,
      name: string,
      id: string,
      options: { ifMatch?: string | undefined } = {},
    ): Promise<Written<undefined>> {
      const model = modelOf(name);
      checkId(model, id);
      const ctx = context(principal);
      const del = deleteStatement(ctx, model, id, options.ifMatch);
      const done = await run(
        ctx,
        [
          {
            statement: del.statement,
            model,
            cascades: cascadesOf(model),
            event: { kind: "deleted", recordId: id, actor: actorOf(principal) },
          },
        ],
        model.name,
      );
      if (!done.ok) throw await explainNoop(ctx, model, id, del.expectedRev);
      return { value: undefined, versions: done.versions };
    },

    /** Up to `maxBatch` writes in one transaction: all are applied, or none. */
    /**
     * `extras[i]`, for a create or update carrying files (a multipart batch): the new record's
     * id (its files are stored under it first), server-set fields (file names) and the revision
     * the update must find (a multiple field's list was read at it).
     */
    async batch(
      principal: Principal,
      body: unknown,
      extras: ReadonlyMap<number, BatchExtra> = new Map(),
    ): Promise<Written<BatchResult[]>> {
      const { operations } = validate(batchSchema, body);
      const ctx = context(principal);
      const planned = await Promise.all(
        operations.map((op, i) => plan(ctx, op, `/operations/${i}/body`, extras.get(i))),
      );
      const done = await run(
        ctx,
        planned.map((p) => p.write),
        "batch",
      );
      if (!done.ok) {
        const failed = done.failed;
        const p = planned[failed]!;
        if (done.relation !== undefined)
          throw missingRelation(done.relation, `/operations/${failed}/body`);
        const reason =
          p.id === undefined
            ? refusal(principal, "The create rule refused it.")
            : await explainNoop(ctx, p.write.model, p.id, p.expectedRev);
        throw new ApiError(
          reason.code,
          `Operation ${failed} failed, so none were applied: ${reason.message}`,
          { errors: [{ path: `/operations/${failed}`, message: reason.message }] },
        );
      }
      const results: BatchResult[] = [];
      for (const [i, p] of planned.entries()) {
        if (p.returning === undefined) {
          results.push({ status: 204 });
          continue;
        }
        const record = firstRecord(done.results[i]!, p.returning);
        results.push({
          status: p.id === undefined ? 201 : 200,
          body: record && publicView(p.write.model, await opened(p.write.model, record)),
        });
      }
      return { value: results, versions: done.versions };
    },
  };

  async function plan(
    ctx: RecordContext,
    op: BatchOperation,
    bodyPath: string,
    extra: BatchExtra | undefined,
  ) {
    const model = modelOf(op.collection);
    if (op.method === "POST") {
      const data = { ...validate(model.createSchema, op.body, bodyPath), ...extra?.set };
      const id = extra?.id ?? newRecordId(model);
      const created = createStatement(ctx, model, await sealFields(sealer, model, id, data), id);
      return {
        id: undefined,
        expectedRev: undefined,
        returning: created.returning,
        write: {
          statement: created.statement,
          model,
          relations: relationChecks(ctx, model, data),
          event: { kind: "created", recordId: created.id, actor: actorOf(ctx.principal) },
        } satisfies Write,
      };
    }
    if (op.method === "PATCH") {
      const data = { ...validate(model.updateSchema, op.body, bodyPath), ...extra?.set };
      const ifMatch = extra?.rev === undefined ? undefined : recordEtag(op.id, extra.rev);
      const updated = updateStatement(
        ctx,
        model,
        op.id,
        await sealFields(sealer, model, op.id, data),
        ifMatch,
      );
      return {
        id: op.id,
        expectedRev: updated.expectedRev,
        returning: updated.returning,
        write: {
          statement: updated.statement,
          model,
          relations: relationChecks(ctx, model, data),
          event: updateEvent(model, op.id, data, ctx.principal),
        } satisfies Write,
      };
    }
    const removed = deleteStatement(ctx, model, op.id, undefined);
    return {
      id: op.id,
      expectedRev: undefined,
      returning: undefined,
      write: {
        statement: removed.statement,
        model,
        cascades: cascadesOf(model),
        event: { kind: "deleted", recordId: op.id, actor: actorOf(ctx.principal) },
      } satisfies Write,
    };
  }
}

export type RecordService = ReturnType<typeof createRecordService>;

/** What a multipart batch adds to one create or update (see `batch`). */
export interface BatchExtra {
  id?: string;
  set?: Record_;
  rev?: number;
}

const recordId = z.string().check(z.regex(recordIdPattern, "a record id"));
const batchOperation = z.discriminatedUnion("method", [
  z.strictObject({ method: z.literal("POST"), collection: z.string(), body: z.unknown() }),
  z.strictObject({
    method: z.literal("PATCH"),
    collection: z.string(),
    id: recordId,
    body: z.unknown(),
  }),
  z.strictObject({ method: z.literal("DELETE"), collection: z.string(), id: recordId }),
]);
type BatchOperation = z.output<typeof batchOperation>;
const batchSchema = z.strictObject({
  operations: z.array(batchOperation).check(z.minLength(1), z.maxLength(maxBatch)),
});

/** An update's event: the readable fields it set (hidden ones never enter an event). */
function updateEvent(
  model: CollectionModel,
  id: string,
  data: Record_,
  principal: Principal,
): ChangeEvent {
  const readable = new Set(model.readable);
  return {
    kind: "updated",
    recordId: id,
    actor: actorOf(principal),
    changed: Object.keys(data).filter((k) => readable.has(k)),
  };
}

function saved(model: CollectionModel, record: Record_): Saved {
  return { record: publicView(model, record), rev: Number(record.rev) };
}

/** Only the fields a client may read. */
function publicView(model: CollectionModel, record: Record_): Record_ {
  return Object.fromEntries(model.readable.map((k) => [k, record[k]]));
}

/** Maps constraint errors from libSQL to problems; anything else is rethrown (a real 500). */
function mapWriteError(err: unknown, label: string): never {
  const code = (err as { code?: unknown }).code;
  const message = String((err as { message?: unknown }).message ?? "");
  if (typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT")) {
    if (/UNIQUE|PRIMARYKEY/.test(code) || /UNIQUE constraint/.test(message)) {
      const field = /UNIQUE constraint failed: \w+\.(\w+)/.exec(message)?.[1];
      throw new ApiError("CONFLICT", `A ${label} record with that value already exists.`, {
        errors: field
          ? [
              {
                path: `/${field.replace(/_(\w)/g, (_, ch: string) => ch.toUpperCase())}`,
                message: "already taken",
              },
            ]
          : undefined,
      });
    }
    if (/FOREIGNKEY/.test(code) || /FOREIGN KEY/.test(message)) throw missingRelation(undefined);
    throw new ApiError("VALIDATION_FAILED", "The record breaks a constraint of the collection.");
  }
  throw err;
}
