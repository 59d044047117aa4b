import type { Client } from "@libsql/client";
import { type CachePolicy, defaultPolicy } from "../edge/cache-policy";
import { base64url } from "../kernel/crypto";
import { ApiError } from "../kernel/errors";
import type { LogSink } from "../kernel/log";
import type { Principal } from "../kernel/principal";
import type { CollectionModel, Models } from "../records/model";
import type { Record_ } from "../records/read";
import type { ReadOptions, RecordService } from "../records/service";
import { fileNamePattern, storageKey, storedName } from "./names";
import { parseRange } from "./range";
import { sniff } from "./sniff";
import { type FileField, fileFields } from "./spec";
import type { FileStorage, StoredObject } from "./storage";
import { sweepFiles, uploadGraceMs } from "./sweep";
import { thumbnail } from "./thumbnail";
import type { ImageResizer } from "./thumbs";
import type { FileTokenKeys } from "./tokens";
import { directUploads } from "./uploads";

/** One uploaded file of a multipart body. */
export interface Upload {
  field: string;
  /** The client's file name (only its safe characters are kept). */
  filename: string;
  bytes: Uint8Array;
}

/** How a multipart body changes a record's file fields besides new uploads. */
export interface FileEdits {
  /** Fields cleared (`field=""`). */
  clear: string[];
  /** Names removed from multiple fields (`field-=name`). */
  remove: { field: string; name: string }[];
}

export interface FileServiceDeps {
  models: Models;
  records: RecordService;
  /** The primary. */
  sql: Client;
  /** Undefined when this home has no storage configured (uploads are then refused, 501). */
  storage: FileStorage | undefined;
  tokenKeys: () => Promise<FileTokenKeys>;
  /** Makes thumbnails; undefined when this home has none (thumbnails are then refused, 501). */
  images?: ImageResizer | undefined;
  now(): Date;
  log: LogSink;
}

/** Longest and default life of a file token, in seconds. */
export const maxTokenSeconds = 3600;
export const defaultTokenSeconds = 300;

/** A file as the route serves it. */
export interface ServedFile {
  field: FileField;
  name: string;
  object: StoredObject;
  range: { offset: number; length: number } | undefined;
  /**
   * Whether one answer serves everyone who asks like this caller (a public field, a view rule
   * that does not read the caller or an anonymous caller, a collection without `cache: false`).
   */
  shareable: boolean;
  /** The collection's cache policy (Cache-Control of a shareable answer). */
  policy: CachePolicy;
  /** For `?thumb=`: whether it was made by this request (`made`) or read from storage. */
  thumb?: "made" | "stored";
}

/**
 * Files on records: staging uploads into storage before the record's write commits, serving
 * them under the record's view rule (and signed tokens for protected fields), and the storage
 * outbox's sweep. No HTTP here; src/http/routes/files.ts and the records routes call it.
 */
export function createFileService(deps: FileServiceDeps) {
  const fieldsMemo = new WeakMap<CollectionModel, FileField[]>();
  const fieldsOf = (model: CollectionModel) => {
    let found = fieldsMemo.get(model);
    if (found === undefined) {
      found = fileFields(model.def.options.files);
      fieldsMemo.set(model, found);
    }
    return found;
  };
  function storage(): FileStorage {
    if (deps.storage === undefined)
      throw new ApiError("NOT_IMPLEMENTED", "No file storage is configured in this deployment.");
    return deps.storage;
  }

  /** Marks staged uploads of a write that did not commit as due now (the next sweep deletes them). */
  async function abandon(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await deps.sql.execute({
      sql: `UPDATE nb_file_deletions SET due_at = ? WHERE reason = 'upload' AND key IN (${keys.map(() => "?").join(", ")})`,
      args: [deps.now().getTime(), ...keys],
    });
  }

  return {
    fieldsOf,
    abandon,
    ...directUploads({ ...deps, storage, fieldsOf, abandon }),

    /** The most bytes a multipart body for `model` may carry: every file at its limit, plus `other`. */
    bodyLimit(model: CollectionModel, other: number): number {
      return fieldsOf(model).reduce((sum, f) => sum + f.maxSize * f.maxFiles, other);
    },

    /**
     * Checks and stores a write's uploads for record `recordId` (the record need not exist yet)
     * and returns the file columns to set. Each file's type is sniffed from its bytes (415 when
     * its field does not take it), sizes and counts are checked (413/400). Each object's row in
     * nb_file_deletions is written before the object, so an upload whose record never commits
     * is deleted once the grace period is over; the record's insert or update claims it.
     */
    async stage(
      model: CollectionModel,
      recordId: string,
      uploads: readonly Upload[],
      edits: FileEdits,
      current: Record_ | undefined,
    ): Promise<{ set: Record_; keys: string[] }> {
      const fields = fieldsOf(model);
      const byName = new Map(fields.map((f) => [f.name, f]));
      const set: Record_ = {};
      const staged: { key: string; bytes: Uint8Array; contentType: string }[] = [];
      const problems: { path: string; message: string }[] = [];
      for (const name of edits.clear) set[name] = byName.get(name)!.multiple ? [] : null;
      for (const { field, name } of edits.remove) {
        const list = (set[field] ?? current?.[field] ?? []) as string[];
        set[field] = list.filter((n) => n !== name);
      }
      for (const upload of uploads) {
        const field = byName.get(upload.field)!;
        const path = `/${field.name}`;
        if (upload.bytes.byteLength > field.maxSize)
          throw new ApiError(
            "PAYLOAD_TOO_LARGE",
            `${field.name} files are limited to ${field.maxSize} bytes.`,
            {
              errors: [{ path, message: `larger than ${field.maxSize} bytes` }],
            },
          );
        const type = sniff(upload.bytes.subarray(0, 4096));
        if (!field.mimeTypes.has(type))
          throw new ApiError(
            "UNSUPPORTED_MEDIA_TYPE",
            `${field.name} takes ${[...field.mimeTypes].join(", ")}; this file's content is ${type}.`,
            { errors: [{ path, message: `content is ${type}` }] },
          );
        const name = storedName(upload.filename);
        staged.push({
          key: storageKey(model.name, recordId, field.name, name),
          bytes: upload.bytes,
          contentType: type,
        });
        if (field.multiple) {
          const list = (set[field.name] ?? current?.[field.name] ?? []) as string[];
          set[field.name] = [...list, name];
        } else if (set[field.name] !== undefined && set[field.name] !== null) {
          problems.push({ path, message: "takes one file" });
        } else {
          set[field.name] = name;
        }
      }
      for (const field of fields) {
        const list = set[field.name];
        if (field.multiple && Array.isArray(list) && list.length > field.maxFiles)
          problems.push({ path: `/${field.name}`, message: `at most ${field.maxFiles} files` });
      }
      if (problems.length > 0)
        throw new ApiError("VALIDATION_FAILED", `${problems.length} field problem(s).`, {
          errors: problems,
        });
      if (staged.length === 0) return { set, keys: [] };
      const store = storage();
      const due = deps.now().getTime() + uploadGraceMs;
      await deps.sql.batch(
        staged.map((s) => ({
          sql: "INSERT OR REPLACE INTO nb_file_deletions (key, due_at, reason, attempts) VALUES (?, ?, 'upload', 0)",
          args: [s.key, due],
        })),
        "write",
      );
      await Promise.all(
        staged.map(async (s) => {
          const digest = await crypto.subtle.digest("SHA-256", s.bytes);
          await store.put(s.key, s.bytes, {
            contentType: s.contentType,
            sha256: base64url(new Uint8Array(digest)),
          });
        }),
      );
      return { set, keys: staged.map((s) => s.key) };
    },

    /**
     * A record's file for `principal` (or for the bearer of `token`, which then replaces it):
     * the record must be one its view rule shows them, the name one of its file fields holds
     * (404 otherwise, alike), and a protected field's file needs someone signed in or a token.
     */
    async open(
      principal: Principal,
      collection: string,
      recordId: string,
      name: string,
      options: {
        token?: string | undefined;
        range?: string | undefined;
        /** A declared thumbnail size: the thumbnail instead (Range is then ignored). */
        thumb?: string | undefined;
        /** From the edge layer: `fresh` when read-your-writes needs the primary. */
        read?: ReadOptions;
      },
    ): Promise<ServedFile> {
      let caller = principal;
      if (options.token !== undefined) {
        const keys = await deps.tokenKeys();
        const verified = await keys.verify(options.token, Math.floor(deps.now().getTime() / 1000));
        if (verified === undefined)
          throw new ApiError(
            "UNAUTHENTICATED",
            "The file token is invalid or has expired; ask for a new one.",
          );
        caller = verified;
      }
      const model = deps.records.target(collection, recordId);
      const fields = fieldsOf(model);
      const missing = () => new ApiError("NOT_FOUND", "There is no such file.");
      if (fields.length === 0 || !fileNamePattern.test(name)) throw missing();
      const { record } = await deps.records
        .view(
          caller,
          collection,
          recordId,
          { fields: fields.map((f) => f.name).join(",") },
          options.read,
        )
        .catch((err: unknown) => {
          throw err instanceof ApiError && err.status === 404 ? missing() : err;
        });
      const field = fields.find((f) => {
        const value = record[f.name];
        return f.multiple ? Array.isArray(value) && value.includes(name) : value === name;
      });
      if (field === undefined) throw missing();
      if (field.protected && caller.kind === "anonymous")
        throw new ApiError(
          "UNAUTHENTICATED",
          "This file is protected: add ?token= from POST /api/files/token.",
        );
      const store = storage();
      const key = storageKey(model.name, recordId, field.name, name);
      const rule = model.rules.view;
      const everyone = rule.kind === "everyone" || (rule.kind === "expr" && !rule.readsAuth);
      // As for the record itself (src/core/edge/share.ts): a view rule that reads the caller
      // still gives every anonymous caller the same answer; `cache: false` shares nothing.
      const shareable =
        !field.protected &&
        model.def.options.cache !== false &&
        (everyone || caller.kind === "anonymous");
      const policy = model.def.options.cache || defaultPolicy;
      if (options.thumb !== undefined) {
        const made = await thumbnail(deps, store, field, key, options.thumb);
        return { field, name, range: undefined, shareable, policy, ...made };
      }
      let range: ServedFile["range"];
      if (options.range !== undefined) {
        const head = await store.head(key);
        if (head === undefined) throw missing();
        const parsed = parseRange(options.range, head.size);
        if (parsed === "unsatisfiable")
          throw new ApiError("RANGE_NOT_SATISFIABLE", `The file has ${head.size} bytes.`, {
            headers: { "content-range": `bytes */${head.size}` },
          });
        range = parsed;
      }
      const object = await store.get(key, range);
      if (object === undefined) throw missing();
      return { field, name, object, range, shareable, policy };
    },

    /** A token for `?token=` on protected files, valid `seconds` (at most an hour). */
    async issueToken(principal: Principal, seconds = defaultTokenSeconds) {
      if (principal.kind === "anonymous")
        throw new ApiError("UNAUTHENTICATED", "Sign in to get a file token.");
      const expiresAt = Math.floor(deps.now().getTime() / 1000) + seconds;
      const token = await (await deps.tokenKeys()).sign(principal, expiresAt);
      return { token, expiresAt: new Date(expiresAt * 1000).toISOString() };
    },

    /** One pass of the storage outbox (see sweep.ts); nothing to do without storage. */
    async sweep() {
      if (deps.storage === undefined) return { deleted: 0, failed: 0 };
      return sweepFiles({
        sql: deps.sql,
        storage: deps.storage,
        log: deps.log,
        now: () => deps.now().getTime(),
      });
    },
  };
}

export type FileService = ReturnType<typeof createFileService>;
