import { ApiError } from "../http/errors";
import { missingRelation } from "./writes";

/** Maps constraint errors from libSQL to problems; anything else is rethrown (a real 500). */
export function mapWriteError(err: unknown, collection: string): never {
  const code = (err as { code?: unknown }).code;
  const message = String((err as { message?: unknown }).message ?? "");
  if (typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT")) {
    if (/UNIQUE|PRIMARYKEY/.test(code) || /UNIQUE constraint/.test(message)) {
      const field = /UNIQUE constraint failed: \w+\.(\w+)/.exec(message)?.[1];
      throw new ApiError("CONFLICT", `A ${collection} record with that value already exists.`, {
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
