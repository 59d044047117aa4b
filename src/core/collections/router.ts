import { type Context, Hono } from "hono";
import { readJsonObject, validate } from "../http/body";
import type { AppEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { mapWriteError } from "./body";
import { cascadesOf, commit } from "./commit";
import type { CollectionModel, Models } from "./model";
import { parseFieldList, parseListParams } from "./params";

import { firstRecord, listRecords, type RecordContext, recordEtag, viewRecord } from "./records";
import {
  createStatement,
  deleteStatement,
  explainNoop,
  missingRelation,
  relationChecks,
  updateStatement,
} from "./writes";

/** Hooks the edge-caching layer gives the router (which client reads, what a write changed). */
export interface RouterHooks {
  readClient(c: Context<AppEnv>): RecordContext["read"];
  /** Called after a committed write with the versions it produced. */
  wrote(c: Context<AppEnv>, versions: Map<string, number>): void;
}

function recordContext(c: Context<AppEnv>, models: Models, hooks: RouterHooks): RecordContext {
  const { platform } = c.var;
  return {
    models,
    principal: c.var.principal,
    now: platform.clock.now(),
    read: hooks.readClient(c),
    write: platform.sql,
  };
}

function modelOf(models: Models, name: string): CollectionModel {
  const model = models.get(name);
  if (model === undefined)
    throw new ApiError(
      "UNKNOWN_COLLECTION",
      `There is no collection ${JSON.stringify(name.slice(0, 64))}.`,
    );
  return model;
}

const idPattern = /^[a-z]{2,8}_[a-z0-9]{1,40}$/;
function checkId(id: string, model: CollectionModel) {
  if (!idPattern.test(id))
    throw new ApiError("NOT_FOUND", `No ${model.name} record ${JSON.stringify(id.slice(0, 64))}.`);
}

export const maxBatch = 50;

/**
 * The REST API over every collection: list/view/create/update/delete under
 * /api/collections/:name/records, and atomic multi-record writes at /api/batch.
 */
export function collectionRoutes(models: Models, hooks: RouterHooks) {
  const app = new Hono<AppEnv>();

  app.get("/api/collections/:name/records", async (c) => {
    const model = modelOf(models, c.req.param("name"));
    const params = parseListParams(model, (n) => c.req.query(n));
    const page = await listRecords(recordContext(c, models, hooks), model, params);
    return c.json(page);
  });

  app.get("/api/collections/:name/records/:id", async (c) => {
    const model = modelOf(models, c.req.param("name"));
    const id = c.req.param("id");
    checkId(id, model);
    const fields = parseFieldList(model, c.req.query("fields"), "fields");
    const expandKeys = parseFieldList(model, c.req.query("expand"), "expand") ?? [];
    for (const key of expandKeys) {
      if (!model.relations.has(key))
        throw new ApiError("INVALID_QUERY", `expand: ${key} is not a relation`);
    }
    const { record, rev } = await viewRecord(
      recordContext(c, models, hooks),
      model,
      id,
      fields ?? model.readable,
      expandKeys,
    );
    // An expansion reads other records, whose changes the revision does not count: then the
    // cache layer tags the body itself.
    if (expandKeys.length === 0)
      c.header("etag", fields === undefined ? recordEtag(id, rev) : `W/${recordEtag(id, rev)}`);
    return c.json(record);
  });

  app.post("/api/collections/:name/records", async (c) => {
    const model = modelOf(models, c.req.param("name"));
    const data = validate(model.createSchema, await readJsonObject(c));
    const ctx = recordContext(c, models, hooks);
    const create = createStatement(ctx, model, data);
    const done = await commit(c, [
      { statement: create.statement, model, relations: relationChecks(ctx, model, data) },
    ]).catch((err) => mapWriteError(err, model.name));
    if (!done.ok) {
      if (done.relation !== undefined) throw missingRelation(done.relation);
      throw refused(c, `You may not create this ${model.name} record.`);
    }
    const record = firstRecord(done.results[0]!, create.returning)!;
    hooks.wrote(c, done.versions);
    c.header("etag", recordEtag(record.id as string, Number(record.rev)));
    c.header("location", `/api/collections/${model.name}/records/${record.id}`);
    return c.json(publicView(model, record), 201);
  });

  app.patch("/api/collections/:name/records/:id", async (c) => {
    const model = modelOf(models, c.req.param("name"));
    const id = c.req.param("id");
    checkId(id, model);
    const data = validate(model.updateSchema, await readJsonObject(c));
    const ctx = recordContext(c, models, hooks);
    const update = updateStatement(ctx, model, id, data, c.req.header("if-match"));
    const done = await commit(c, [
      { statement: update.statement, model, relations: relationChecks(ctx, model, data) },
    ]).catch((err) => mapWriteError(err, model.name));
    if (!done.ok) {
      if (done.relation !== undefined) throw missingRelation(done.relation);
      throw await explainNoop(ctx, model, id, update.expectedRev);
    }
    const record = firstRecord(done.results[0]!, update.returning)!;
    hooks.wrote(c, done.versions);
    c.header("etag", recordEtag(id, Number(record.rev)));
    return c.json(publicView(model, record));
  });

  app.delete("/api/collections/:name/records/:id", async (c) => {
    const model = modelOf(models, c.req.param("name"));
    const id = c.req.param("id");
    checkId(id, model);
    const ctx = recordContext(c, models, hooks);
    const del = deleteStatement(ctx, model, id, c.req.header("if-match"));
    const cascades = cascadesOf(models, model);
    const done = await commit(c, [{ statement: del.statement, model, cascades }]).catch((err) =>
      mapWriteError(err, model.name),
    );
    if (!done.ok) throw await explainNoop(ctx, model, id, del.expectedRev);
    hooks.wrote(c, done.versions);
    return c.body(null, 204);
  });

  app.post("/api/batch", async (c) => {
    const body = await readJsonObject(c);
    const ops = body.operations;
    if (!Array.isArray(ops) || ops.length === 0 || ops.length > maxBatch) {
      throw new ApiError(
        "VALIDATION_FAILED",
        `operations must be an array of 1 to ${maxBatch} items.`,
        {
          errors: [{ path: "/operations", message: `1 to ${maxBatch} operations` }],
        },
      );
    }
    const ctx = recordContext(c, models, hooks);
    const planned = ops.map((raw, i) => planOperation(models, ctx, raw, i));
    const done = await commit(
      c,
      planned.map((p) => ({
        statement: p.statement,
        model: p.model,
        cascades: p.method === "DELETE" ? cascadesOf(models, p.model) : undefined,
        relations: p.relations,
      })),
    ).catch((err) => mapWriteError(err, "batch"));
    if (!done.ok) {
      const failed = done.failed;
      const p = planned[failed]!;
      if (done.relation !== undefined)
        throw missingRelation(done.relation, `/operations/${failed}/body`);
      const reason =
        p.id === undefined
          ? refused(c, "The create rule refused it.")
          : await explainNoop(ctx, p.model, p.id, p.expectedRev);
      throw new ApiError(
        reason.code,
        `Operation ${failed} failed, so none were applied: ${reason.message}`,
        {
          errors: [{ path: `/operations/${failed}`, message: reason.message }],
        },
      );
    }
    hooks.wrote(c, done.versions);
    return c.json({
      results: planned.map((p, i) => {
        const record = p.returning ? firstRecord(done.results[i]!, p.returning) : undefined;
        return p.method === "DELETE"
          ? { status: 204 }
          : {
              status: p.method === "POST" ? 201 : 200,
              body: record && publicView(p.model, record),
            };
      }),
    });
  });

  return app;
}

function planOperation(models: Models, ctx: RecordContext, raw: unknown, i: number) {
  const path = `/operations/${i}`;
  if (typeof raw !== "object" || raw === null) {
    throw new ApiError("VALIDATION_FAILED", `Operation ${i} must be an object.`, {
      errors: [{ path, message: "expected an object" }],
    });
  }
  const op = raw as { method?: unknown; collection?: unknown; id?: unknown; body?: unknown };
  const unknown = Object.keys(op).filter(
    (k) => !["method", "collection", "id", "body"].includes(k),
  );
  if (unknown.length > 0) {
    throw new ApiError("VALIDATION_FAILED", `Operation ${i} has unknown keys.`, {
      errors: unknown.map((k) => ({ path: `${path}/${k}`, message: "unknown key" })),
    });
  }
  if (typeof op.collection !== "string")
    throw new ApiError("VALIDATION_FAILED", `Operation ${i} needs a collection.`, {
      errors: [{ path: `${path}/collection`, message: "required" }],
    });
  const model = modelOf(models, op.collection);
  const method = op.method;
  if (method === "POST") {
    const data = validate(model.createSchema, op.body, `${path}/body`);
    const created = createStatement(ctx, model, data);
    return {
      method,
      model,
      id: undefined,
      expectedRev: undefined,
      statement: created.statement,
      returning: created.returning,
      relations: relationChecks(ctx, model, data),
    };
  }
  if (typeof op.id !== "string" || !idPattern.test(op.id)) {
    throw new ApiError("VALIDATION_FAILED", `Operation ${i} needs a record id.`, {
      errors: [{ path: `${path}/id`, message: "required" }],
    });
  }
  if (method === "PATCH") {
    const data = validate(model.updateSchema, op.body, `${path}/body`);
    const updated = updateStatement(ctx, model, op.id, data, undefined);
    return {
      method,
      model,
      id: op.id,
      expectedRev: undefined,
      statement: updated.statement,
      returning: updated.returning,
      relations: relationChecks(ctx, model, data),
    };
  }
  if (method === "DELETE") {
    const removed = deleteStatement(ctx, model, op.id, undefined);
    return {
      method,
      model,
      id: op.id,
      expectedRev: undefined,
      statement: removed.statement,
      returning: undefined,
      relations: undefined,
    };
  }
  throw new ApiError("VALIDATION_FAILED", `Operation ${i}: method must be POST, PATCH or DELETE.`, {
    errors: [{ path: `${path}/method`, message: "POST, PATCH or DELETE" }],
  });
}

/** A refused write: 401 when signing in might help, else 403. */
function refused(c: Context<AppEnv>, detail: string): ApiError {
  return c.var.principal.kind === "anonymous"
    ? new ApiError("UNAUTHENTICATED", "Sign in to do this.", {
        headers: { "www-authenticate": 'Bearer realm="nearbase"' },
      })
    : new ApiError("FORBIDDEN", detail);
}

function publicView(model: CollectionModel, record: Record<string, unknown>) {
  return Object.fromEntries(model.readable.map((k) => [k, record[k]]));
}
