import type { Context } from "hono";
import { Hono } from "hono";
import * as z from "zod/mini";
import { publicCacheControl } from "../../core/edge/cache-policy";
import { type ShareDecision, shareDecision } from "../../core/edge/share";
import type { VersionMemo } from "../../core/edge/versions";
import {
  defaultTokenSeconds,
  type FileEdits,
  maxTokenSeconds,
  type Upload,
} from "../../core/files/service";
import { defaultUploadSeconds, maxUploadSeconds } from "../../core/files/uploads";
import { randomToken } from "../../core/kernel/crypto";
import { ApiError } from "../../core/kernel/errors";
import { validate } from "../../core/kernel/validate";
import { recordEtag } from "../../core/records/ids";
import type { CollectionModel } from "../../core/records/model";
import type { Record_ } from "../../core/records/read";
import type { BatchExtra } from "../../core/records/service";
import { newRecordId } from "../../core/records/write";
import { readJsonObject } from "../body";
import type { AppEnv } from "../context";
import { sharedCache } from "../middleware/shared-cache";
import { openApiPaths, type RouteDocs } from "../route-docs";

/** Whether a write's body is multipart (an upload) rather than JSON. */
export const isMultipart = (c: Context<AppEnv>) =>
  /^multipart\/form-data\s*;/i.test(c.req.header("content-type") ?? "");

/**
 * Reads a multipart body without holding more than `limit` bytes: a Content-Length over it is
 * a 413 before a byte is read, and a body that turns out longer (chunked) is cut off — and the
 * upload refused — as soon as it passes the limit.
 */
async function readForm(c: Context<AppEnv>, limit: number): Promise<FormData> {
  const tooLarge = () =>
    new ApiError("PAYLOAD_TOO_LARGE", `Uploads to this collection are limited to ${limit} bytes.`);
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const body = c.req.raw.body;
  if (body === null) throw new ApiError("BAD_REQUEST", "The multipart body is empty.");
  let seen = 0;
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(tooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
  try {
    return await new Response(counted, {
      headers: { "content-type": c.req.header("content-type")! },
    }).formData();
  } catch (err) {
    if (seen > limit) throw tooLarge();
    throw new ApiError("BAD_REQUEST", "The multipart body is malformed.", { cause: err });
  }
}

/**
 * A multipart create/update body: files under their field's name; other parts are the record's
 * fields (text columns as sent, other columns as JSON: `42`, `true`, `["a"]`), or all of them
 * as one JSON object in a `@jsonPayload` part. `<field>=` (empty) clears a file field and
 * `<field>-=<name>` removes one name from a multiple one.
 */
async function readUpload(c: Context<AppEnv>, model: CollectionModel) {
  const { files } = c.get("services");
  const fields = new Map(files.fieldsOf(model).map((f) => [f.name, f]));
  if (fields.size === 0)
    throw new ApiError(
      "UNSUPPORTED_MEDIA_TYPE",
      `${model.name} has no file fields: send application/json.`,
    );
  const limit = files.bodyLimit(model, otherPartsLimit);
  const form = await readForm(c, limit);
  const body: Record_ = {};
  const uploads: Upload[] = [];
  const edits: FileEdits = { clear: [], remove: [] };
  for (const [key, value] of form.entries()) {
    if (typeof value !== "string") {
      if (!fields.has(key))
        throw new ApiError("VALIDATION_FAILED", "A file was sent for a field that takes none.", {
          errors: [{ path: `/${key.slice(0, 64)}`, message: "not a file field" }],
        });
      uploads.push({
        field: key,
        filename: value.name,
        bytes: new Uint8Array(await value.arrayBuffer()),
      });
    } else if (key === "@jsonPayload") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new ApiError("INVALID_JSON", "@jsonPayload is not valid JSON.");
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new ApiError("VALIDATION_FAILED", "@jsonPayload must be a JSON object.");
      Object.assign(body, parsed);
    } else if (fields.has(key) && value === "") {
      edits.clear.push(key);
    } else if (key.endsWith("-") && fields.get(key.slice(0, -1))?.multiple) {
      edits.remove.push({ field: key.slice(0, -1), name: value });
    } else {
      body[key] = fieldValue(model, key, value);
    }
  }
  return { body, uploads, edits };
}

/** Room for a multipart body's non-file parts. */
const otherPartsLimit = 64 * 1024;

function fieldValue(model: CollectionModel, key: string, value: string): unknown {
  const type = model.fields.get(key)?.column.columnType;
  if (type === undefined || type === "SQLiteText") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** POST /api/collections/:name/records with a multipart body: uploads, then the insert. */
export async function createWithFiles(c: Context<AppEnv>, name: string) {
  const { records, files } = c.get("services");
  const model = records.target(name);
  const { body, uploads, edits } = await readUpload(c, model);
  const id = newRecordId(model);
  const staged = await files.stage(model, id, uploads, edits, undefined);
  const written = await records
    .create(c.get("principal"), name, body, { id, set: staged.set })
    .catch(async (err: unknown) => {
      await files.abandon(staged.keys);
      throw err;
    });
  const { record, rev } = written.value;
  c.set("wrote", written.versions);
  c.header("etag", recordEtag(id, rev));
  c.header("location", `/api/collections/${name}/records/${id}`);
  return c.json(record, 201);
}

/** PATCH with a multipart body: reads the record's file fields (under the If-Match it read) first. */
export async function updateWithFiles(c: Context<AppEnv>, name: string, id: string) {
  const { records, files } = c.get("services");
  const model = records.target(name, id);
  const { body, uploads, edits } = await readUpload(c, model);
  const principal = c.get("principal");
  const current = await records.view(
    principal,
    name,
    id,
    {
      fields: files
        .fieldsOf(model)
        .map((f) => f.name)
        .join(","),
    },
    { fresh: true },
  );
  const staged = await files.stage(model, id, uploads, edits, current.record);
  // Appending to or removing from a list read here: a write in between makes this one a 412.
  const ifMatch = c.req.header("if-match") ?? recordEtag(id, current.rev);
  const written = await records
    .update(principal, name, id, body, { ifMatch, set: staged.set })
    .catch(async (err: unknown) => {
      await files.abandon(staged.keys);
      throw err;
    });
  c.set("wrote", written.versions);
  // Freed files (replaced or removed) go now; a failure is retried by later passes.
  c.get("platform").defer(c, files.sweep());
  c.header("etag", recordEtag(id, written.value.rev));
  return c.json(written.value.record);
}

/**
 * POST /api/batch with a multipart body: the operations as one `@jsonPayload` part
 * (`{"operations": [...]}`), files as parts named `operations.<index>.<field>` for a create or
 * update in it. The files are stored first (each with its `upload` row in nb_file_deletions, as
 * for a multipart create), then the whole batch commits as one transaction that claims them;
 * if any operation fails, nothing is written and the stored files are marked for deletion.
 * An update that appends to a multiple field commits only at the revision its list was read at.
 */
export async function batchWithFiles(c: Context<AppEnv>) {
  const { records, files } = c.get("services");
  const principal = c.get("principal");
  const limit = Math.max(
    otherPartsLimit,
    ...[...records.models.values()].map((m) => files.bodyLimit(m, otherPartsLimit)),
  );
  const form = await readForm(c, limit);
  let payload: unknown;
  const uploads = new Map<number, Upload[]>();
  for (const [key, value] of form.entries()) {
    if (key === "@jsonPayload" && typeof value === "string") {
      try {
        payload = JSON.parse(value);
      } catch {
        throw new ApiError("INVALID_JSON", "@jsonPayload is not valid JSON.");
      }
      continue;
    }
    const part = /^operations\.(\d{1,2})\.([A-Za-z_]\w{0,63})$/.exec(key);
    if (typeof value === "string" || part === null)
      throw new ApiError(
        "VALIDATION_FAILED",
        "A multipart batch takes one @jsonPayload part and files named operations.<index>.<field>.",
        { errors: [{ path: `/${key.slice(0, 64)}`, message: "not a batch part" }] },
      );
    const list = uploads.get(Number(part[1])) ?? [];
    list.push({
      field: part[2]!,
      filename: value.name,
      bytes: new Uint8Array(await value.arrayBuffer()),
    });
    uploads.set(Number(part[1]), list);
  }
  if (payload === undefined)
    throw new ApiError("VALIDATION_FAILED", "The operations go in a @jsonPayload part.");
  const operations = (payload as { operations?: unknown }).operations;
  const extras = new Map<number, BatchExtra>();
  const keys: string[] = [];
  try {
    for (const [i, list] of uploads) {
      const op = (Array.isArray(operations) ? operations[i] : undefined) as
        | { method?: unknown; collection?: unknown; id?: unknown }
        | undefined;
      const path = `/operations/${i}`;
      if (
        op === undefined ||
        (op.method !== "POST" && op.method !== "PATCH") ||
        typeof op.collection !== "string"
      )
        throw new ApiError("VALIDATION_FAILED", "Files go with a POST or PATCH operation.", {
          errors: [{ path, message: "no create or update to attach files to" }],
        });
      const patch = op.method === "PATCH";
      const model = records.target(op.collection, patch ? String(op.id) : undefined);
      const fields = new Map(files.fieldsOf(model).map((f) => [f.name, f]));
      for (const u of list) {
        if (!fields.has(u.field))
          throw new ApiError("VALIDATION_FAILED", "A file was sent for a field that takes none.", {
            errors: [{ path: `${path}/${u.field}`, message: "not a file field" }],
          });
      }
      const id = patch ? String(op.id) : newRecordId(model);
      let current: { record: Record_; rev: number } | undefined;
      if (patch && list.some((u) => fields.get(u.field)!.multiple))
        current = await records.view(
          principal,
          model.name,
          id,
          { fields: [...fields.keys()].join(",") },
          { fresh: true },
        );
      const staged = await files.stage(model, id, list, { clear: [], remove: [] }, current?.record);
      keys.push(...staged.keys);
      extras.set(i, { id: patch ? undefined : id, set: staged.set, rev: current?.rev });
    }
    const written = await records.batch(principal, payload, extras);
    c.set("wrote", written.versions);
    // Replaced files, and those of deleted records, go now; failures are retried later.
    c.get("platform").defer(c, files.sweep());
    return c.json({ results: written.value });
  } catch (err) {
    await files.abandon(keys);
    throw err;
  }
}

const tokenInput = z.strictObject({
  expiresIn: z
    .optional(z.int().check(z.gte(1), z.lte(maxTokenSeconds)))
    .check(z.describe(`seconds the token is valid; default ${defaultTokenSeconds}`)),
});
const tokenOutput = () => z.object({ token: z.string(), expiresAt: z.iso.datetime() });

const uploadInput = z.strictObject({
  filename: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(255),
      z.describe("the file's name; its stored name is made from it"),
    ),
  size: z
    .int()
    .check(
      z.gte(1),
      z.lte(1024 ** 3),
      z.describe("bytes the PUT will send (its Content-Length); at most the field's maxSize"),
    ),
  type: z
    .optional(z.string().check(z.maxLength(100)))
    .check(
      z.describe("one of the field's media types, to take only that one; checked by sniffing"),
    ),
  expiresIn: z
    .optional(z.int().check(z.gte(1), z.lte(maxUploadSeconds)))
    .check(z.describe(`seconds the URL is valid; default ${defaultUploadSeconds}`)),
});
const uploadOutput = () =>
  z.object({
    url: z
      .string()
      .check(z.describe("PUT the bytes here (no Authorization needed: the URL is signed)")),
    method: z.literal("PUT"),
    maxSize: z.int(),
    mimeTypes: z.array(z.string()),
    expiresAt: z.iso.datetime(),
  });

export interface FileEdgeOptions {
  /** The app's version memo (shared with the collections and GraphQL edge layers). */
  memo: VersionMemo;
  /** False: nothing is stored in the shared cache (SHARED_CACHE=off). */
  enabled: boolean;
  consistencyWindowMs: number;
}

/**
 * Whether a file GET may come from the shared cache, decided as for a view of its record: the
 * entry's key carries the collection's version, so a write that replaces or removes the file,
 * deletes the record or erases its owner moves the key, and the next read misses and asks the
 * record again (the writer's own next read is routed past the cache by its consistency token).
 * `?token=` and Range requests go past the cache; a collection whose file fields are all
 * protected has none; a protected file among public ones answers `private` and is not stored.
 */
export function shareForFiles(c: Context<AppEnv>): ShareDecision | undefined {
  if (c.req.query("token") !== undefined || c.req.header("range") !== undefined) return undefined;
  const { records, files } = c.get("services");
  const collection = c.req.param("collection");
  const model = collection === undefined ? undefined : records.models.get(collection);
  if (model === undefined || files.fieldsOf(model).every((f) => f.protected)) return undefined;
  return shareDecision(records.models, {
    collection: model.name,
    id: c.req.param("record"),
    principal: c.get("principal"),
  });
}

/** Serving files and their tokens: GET /api/files/:collection/:record/:name, POST /api/files/token. */
export function fileRoutes(edge?: FileEdgeOptions) {
  const app = new Hono<AppEnv>();
  if (edge !== undefined) {
    let secret: string | undefined;
    app.use(
      "/api/files/:collection/:record/:name",
      sharedCache(
        (c) => {
          const decision = shareForFiles(c);
          return decision && (edge.enabled ? decision : { ...decision, shareable: false });
        },
        edge.memo,
        // Random values are refused at global scope on Workers: made on first use.
        () => (secret ??= randomToken(24)),
        edge.consistencyWindowMs,
      ),
    );
  }

  app.post("/api/files/token", async (c) => {
    const { expiresIn } = validate(tokenInput, await readJsonObject(c));
    c.header("cache-control", "no-store");
    return c.json(await c.get("services").files.issueToken(c.get("principal"), expiresIn), 200);
  });

  app.post("/api/files/:collection/:record/:field/upload-url", async (c) => {
    const input = validate(uploadInput, await readJsonObject(c));
    c.header("cache-control", "no-store");
    const issued = await c
      .get("services")
      .files.issueUpload(
        c.get("principal"),
        c.req.param("collection"),
        c.req.param("record"),
        c.req.param("field"),
        input,
      );
    return c.json(issued, 200);
  });

  app.put("/api/files/uploads/:token", async (c) => {
    const { files } = c.get("services");
    const claims = await files.verifyUpload(c.req.param("token"));
    const declared = c.req.header("content-length");
    if (declared === undefined || !/^\d{1,12}$/.test(declared))
      throw new ApiError("BAD_REQUEST", "Send the file with its Content-Length.");
    const length = Number(declared);
    // Refused before a byte of the body is read.
    if (length > claims.s)
      throw new ApiError("PAYLOAD_TOO_LARGE", `This upload URL takes at most ${claims.s} bytes.`);
    const body = c.req.raw.body;
    if (length === 0 || body === null) throw new ApiError("BAD_REQUEST", "The body is empty.");
    const written = await files.receive(claims, body, length);
    c.set("wrote", written.versions);
    // A replaced file goes now; a failure is retried by later passes.
    c.get("platform").defer(c, files.sweep());
    c.header("etag", recordEtag(claims.r, written.value.rev));
    c.header("cache-control", "no-store");
    return c.json(written.value.record, 200);
  });

  app.get("/api/files/:collection/:record/:name", async (c) => {
    const served = await c
      .get("services")
      .files.open(
        c.get("principal"),
        c.req.param("collection"),
        c.req.param("record"),
        c.req.param("name"),
        {
          token: c.req.query("token"),
          range: c.req.header("range"),
          thumb: c.req.query("thumb"),
          read: c.get("readOptions"),
        },
      );
    const { object, range, name } = served;
    const etag = `"${object.sha256}"`;
    const headers = new Headers({
      "content-type": object.contentType,
      etag,
      "accept-ranges": "bytes",
      "x-content-type-options": "nosniff",
      "content-disposition": `${disposition(object.contentType, c.req.query("download"))}; filename="${name}"`,
      // Every upload has its own name, so the bytes at a URL never change; who may read them can
      // (a delete or an erasure): shared copies live as long as the record's own. The shared
      // cache layer sets this again on the answers it handles.
      "cache-control": served.shareable ? publicCacheControl(served.policy) : "private, max-age=60",
    });
    if (c.req.header("if-none-match") === etag) {
      await object.body.cancel();
      return new Response(null, { status: 304, headers });
    }
    if (range !== undefined) {
      headers.set(
        "content-range",
        `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`,
      );
      headers.set("content-length", String(range.length));
      return new Response(object.body, { status: 206, headers });
    }
    headers.set("content-length", String(object.size));
    return new Response(object.body, { status: 200, headers });
  });

  return app;
}

/** Images, PDFs and plain text display inline; anything else downloads (and `?download=1` always). */
function disposition(type: string, download: string | undefined): "inline" | "attachment" {
  if (download !== undefined && download !== "0") return "attachment";
  return /^(image\/|application\/pdf$|text\/plain$)/.test(type) ? "inline" : "attachment";
}

const docs = () =>
  ({
    "post /api/files/:collection/:record/:field/upload-url": {
      tags: ["files"],
      summary: "A signed URL to upload a large file straight to storage",
      description:
        "Issued when the record's update rule admits the caller. The URL's token binds the caller, the record and field, the most bytes (`size`), the media types and the expiry (HMAC-SHA256). `PUT` the bytes to it with their Content-Length: they stream into storage, their type is sniffed from the first bytes, and the record's field is set (replaced, or appended to a multiple field) in one commit with its event.",
      auth: "user",
      body: uploadInput,
      responses: { "200": { description: "The upload URL", schema: uploadOutput() } },
      raises: ["NOT_FOUND", "FORBIDDEN", "UNKNOWN_COLLECTION", "NOT_IMPLEMENTED", "MALFORMED_URI"],
    },
    "put /api/files/uploads/:token": {
      tags: ["files"],
      summary: "Upload a file to a signed upload URL",
      description:
        "The body is the file's bytes (any Content-Type; the type is sniffed), with Content-Length at most the URL's size — more is refused (413) before the body is read. Streams into storage (disk, S3 or R2) without holding the file in memory. Answers the updated record. The token is the credential: an altered or expired one is 401.",
      auth: "public",
      parameters: [
        {
          name: "Content-Length",
          in: "header",
          required: true,
          schema: { type: "integer", minimum: 1 },
        },
      ],
      responses: {
        "200": {
          description: "The record, with the file's stored name in its field",
          content: { "application/json": { schema: { type: "object" } } },
          headers: {
            ETag: { schema: { type: "string" } },
            "Nearbase-Consistency": { $ref: "#/components/headers/ConsistencyToken" },
          },
        },
      },
      raises: [
        "UNAUTHENTICATED",
        "BAD_REQUEST",
        "PAYLOAD_TOO_LARGE",
        "UNSUPPORTED_MEDIA_TYPE",
        "VALIDATION_FAILED",
        "NOT_FOUND",
        "FORBIDDEN",
        "PRECONDITION_FAILED",
        "NOT_IMPLEMENTED",
        "MALFORMED_URI",
      ],
    },
    "post /api/files/token": {
      tags: ["files"],
      summary: "A short-lived token for protected files",
      description:
        "Signed (HMAC-SHA256, key derived from the JWT signing key) for the caller; add it to a file URL as `?token=` where a bearer header cannot go (`<img src>`). The record's view rule is checked for the token's holder on every fetch.",
      auth: "user",
      body: tokenInput,
      responses: { "200": { description: "The token", schema: tokenOutput() } },
    },
    "get /api/files/:collection/:record/:name": {
      tags: ["files"],
      summary: "Download a record's file",
      description:
        "Served when the record's view rule admits the caller (or the holder of `?token=`); protected fields need a token or a signed-in caller. Strong ETag (SHA-256), single byte ranges, the sniffed Content-Type, nosniff. `?thumb=` serves a declared thumbnail of an image, made on its first request and stored beside the original.",
      parameters: [
        {
          name: "token",
          in: "query",
          schema: { type: "string" },
          description: "from POST /api/files/token",
        },
        {
          name: "thumb",
          in: "query",
          schema: { type: "string", pattern: "^\\d{1,4}x\\d{1,4}[tbf]?$" },
          description:
            "a thumbnail size the field declares (WxH crop, WxHt/WxHb crop from top/bottom, WxHf fit, 0xH, Wx0); 400 for any other",
        },
        {
          name: "download",
          in: "query",
          schema: { type: "string" },
          description: "1: Content-Disposition attachment",
        },
        {
          name: "Range",
          in: "header",
          schema: { type: "string" },
          description: "bytes=a-b, a- or -n",
        },
        { name: "If-None-Match", in: "header", schema: { type: "string" } },
      ],
      responses: {
        "200": {
          description: "The file",
          content: { "*/*": { schema: { type: "string", format: "binary" } } },
          headers: fileHeaders(),
        },
        "206": {
          description: "The asked range",
          content: { "*/*": { schema: { type: "string", format: "binary" } } },
          headers: { ...fileHeaders(), "Content-Range": { schema: { type: "string" } } },
        },
        "304": { description: "Not modified", headers: { ETag: { schema: { type: "string" } } } },
      },
      raises: [
        "NOT_FOUND",
        "VALIDATION_FAILED",
        "UNSUPPORTED_MEDIA_TYPE",
        "UNKNOWN_COLLECTION",
        "RANGE_NOT_SATISFIABLE",
        "NOT_IMPLEMENTED",
        "MALFORMED_URI",
      ],
    },
  }) satisfies RouteDocs;

function fileHeaders() {
  return {
    ETag: { schema: { type: "string" } },
    "Content-Disposition": { schema: { type: "string" } },
    "Accept-Ranges": { schema: { type: "string" } },
  };
}

export const filePaths = () => openApiPaths("", docs());
