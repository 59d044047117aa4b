import type { Client } from "@libsql/client";
import { ApiError } from "../kernel/errors";
import type { Principal } from "../kernel/principal";
import { recordEtag } from "../records/ids";
import type { CollectionModel } from "../records/model";
import type { Record_ } from "../records/read";
import type { RecordService } from "../records/service";
import { storageKey, storedName } from "./names";
import { sniff } from "./sniff";
import type { FileField } from "./spec";
import type { FileStorage } from "./storage";
import { uploadGraceMs } from "./sweep";
import type { FileTokenKeys, UploadClaims } from "./tokens";

/** Longest and default life of an upload URL, in seconds. */
export const maxUploadSeconds = 3600;
export const defaultUploadSeconds = 900;

export interface UploadRequest {
  /** The file's name on the client (its stored name is made from it). */
  filename: string;
  /** Bytes the client will send (the URL takes no more). */
  size: number;
  /** One of the field's types, to narrow what the URL takes (else all the field's). */
  type?: string | undefined;
  expiresIn?: number | undefined;
}

interface UploadDeps {
  records: RecordService;
  sql: Client;
  tokenKeys: () => Promise<FileTokenKeys>;
  now(): Date;
  storage(): FileStorage;
  fieldsOf(model: CollectionModel): FileField[];
  abandon(keys: readonly string[]): Promise<void>;
}

/**
 * Direct uploads for large files: an upload URL (a signed token binding who, which record and
 * field, the most bytes, the media types and the expiry) is issued under the record's update
 * rule; a PUT to it streams the body into storage — never held whole in memory — with its
 * type sniffed from the first bytes before anything is stored; the record's field is then set
 * by an ordinary update (rule checked again, version bump and outbox event in one commit).
 * Until that commit the object is an upload nobody claimed (nb_file_deletions), deleted after
 * the grace period if the update never happens.
 */
export function directUploads(deps: UploadDeps) {
  const nowSeconds = () => Math.floor(deps.now().getTime() / 1000);
  function fieldOf(model: CollectionModel, name: string): FileField {
    const field = deps.fieldsOf(model).find((f) => f.name === name);
    if (field === undefined)
      throw new ApiError(
        "NOT_FOUND",
        `${model.name} has no file field ${JSON.stringify(name.slice(0, 64))}.`,
      );
    return field;
  }

  return {
    async issueUpload(
      principal: Principal,
      collection: string,
      recordId: string,
      fieldName: string,
      input: UploadRequest,
    ) {
      if (principal.kind === "anonymous")
        throw new ApiError("UNAUTHENTICATED", "Sign in to upload files.");
      deps.storage();
      const model = deps.records.target(collection, recordId);
      const field = fieldOf(model, fieldName);
      const path = `/${field.name}`;
      if (input.size > field.maxSize)
        throw new ApiError(
          "PAYLOAD_TOO_LARGE",
          `${field.name} files are limited to ${field.maxSize} bytes.`,
          { errors: [{ path: "/size", message: `larger than ${field.maxSize} bytes` }] },
        );
      if (input.type !== undefined && !field.mimeTypes.has(input.type))
        throw new ApiError(
          "UNSUPPORTED_MEDIA_TYPE",
          `${field.name} takes ${[...field.mimeTypes].join(", ")}.`,
          { errors: [{ path: "/type", message: `${path} does not take ${input.type}` }] },
        );
      await deps.records.checkUpdate(principal, model.name, recordId);
      const expiresAt = nowSeconds() + (input.expiresIn ?? defaultUploadSeconds);
      const types = input.type === undefined ? [...field.mimeTypes] : [input.type];
      const token = await (await deps.tokenKeys()).signUpload({
        p: principal,
        m: "PUT",
        c: model.name,
        r: recordId,
        f: field.name,
        n: input.filename,
        s: input.size,
        t: types,
        exp: expiresAt,
      });
      return {
        url: `/api/files/uploads/${token}`,
        method: "PUT" as const,
        maxSize: input.size,
        mimeTypes: types,
        expiresAt: new Date(expiresAt * 1000).toISOString(),
      };
    },

    /** The claims of an upload URL's token; 401 when it is altered, unknown or expired. */
    async verifyUpload(token: string): Promise<UploadClaims> {
      const claims = await (await deps.tokenKeys()).verifyUpload(token, nowSeconds());
      if (claims === undefined)
        throw new ApiError(
          "UNAUTHENTICATED",
          "The upload URL is invalid or has expired; ask for a new one.",
        );
      return claims;
    },

    /**
     * A direct upload's body of `length` bytes (the route checked it against the token): its
     * type sniffed from the first bytes (415 before anything is stored), streamed into
     * storage, then the record's field set. Returns the update's result.
     */
    async receive(claims: UploadClaims, body: ReadableStream<Uint8Array>, length: number) {
      const model = deps.records.target(claims.c, claims.r);
      const field = fieldOf(model, claims.f);
      const reader = body.getReader();
      const tooLong = () =>
        new ApiError("PAYLOAD_TOO_LARGE", `This upload URL takes ${length} bytes.`);
      // Enough of the start to tell the type.
      const head: Uint8Array[] = [];
      let seen = 0;
      let ended = false;
      while (seen < 4096) {
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        head.push(value);
        seen += value.byteLength;
      }
      const start = concat(head);
      const type = sniff(start.subarray(0, 4096));
      if (!claims.t.includes(type)) {
        await reader.cancel().catch(() => {});
        throw new ApiError(
          "UNSUPPORTED_MEDIA_TYPE",
          `This upload takes ${claims.t.join(", ")}; the file's content is ${type}.`,
          { errors: [{ path: `/${field.name}`, message: `content is ${type}` }] },
        );
      }
      if (seen > length) {
        await reader.cancel().catch(() => {});
        throw tooLong();
      }
      let failure: ApiError | undefined;
      const fail = (controller: ReadableStreamDefaultController<Uint8Array>, err: ApiError) => {
        failure = err;
        controller.error(err);
      };
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          if (start.byteLength > 0) controller.enqueue(start);
          if (ended) {
            if (seen !== length) fail(controller, cutShort(seen, length));
            else controller.close();
          }
        },
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) {
            if (seen !== length) fail(controller, cutShort(seen, length));
            else controller.close();
            return;
          }
          seen += value.byteLength;
          if (seen > length) {
            await reader.cancel().catch(() => {});
            fail(controller, tooLong());
            return;
          }
          controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      });

      const name = storedName(claims.n);
      const key = storageKey(model.name, claims.r, field.name, name);
      await deps.sql.execute({
        sql: "INSERT OR REPLACE INTO nb_file_deletions (key, due_at, reason, attempts) VALUES (?, ?, 'upload', 0)",
        args: [key, deps.now().getTime() + uploadGraceMs],
      });
      try {
        await deps.storage().putStream(key, stream, length, type);
      } catch (err) {
        await deps.abandon([key]);
        throw failure ?? err;
      }
      try {
        const set: Record_ = {};
        let ifMatch: string | undefined;
        if (field.multiple) {
          // Appended to the list read here: a write in between makes this one a 412.
          const current = await deps.records.view(
            claims.p,
            model.name,
            claims.r,
            { fields: field.name },
            { fresh: true },
          );
          const list = (current.record[field.name] ?? []) as string[];
          if (list.length >= field.maxFiles)
            throw new ApiError("VALIDATION_FAILED", "1 field problem(s).", {
              errors: [{ path: `/${field.name}`, message: `at most ${field.maxFiles} files` }],
            });
          set[field.name] = [...list, name];
          ifMatch = recordEtag(claims.r, current.rev);
        } else {
          set[field.name] = name;
        }
        return await deps.records.update(claims.p, model.name, claims.r, {}, { ifMatch, set });
      } catch (err) {
        await deps.abandon([key]);
        throw err;
      }
    },
  };
}

function cutShort(seen: number, length: number) {
  return new ApiError(
    "BAD_REQUEST",
    `The body ended after ${seen} of the ${length} bytes Content-Length announced.`,
  );
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
