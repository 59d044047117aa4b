import type { Context } from "hono";
import type { ZodObject } from "zod";
import { ApiError } from "../core/kernel/errors";
import type { AppEnv } from "./context";

/** Reads a JSON object body: 415 for another media type, 400 INVALID_JSON for broken JSON. */
export async function readJsonObject(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.");
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new ApiError("INVALID_JSON", "The body is not valid JSON.");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError("VALIDATION_FAILED", "The body must be a JSON object.", {
      errors: [{ path: "/", message: "expected an object" }],
    });
  }
  return body as Record<string, unknown>;
}

/** Validates against a zod schema; every problem is reported with its JSON path. */
export function validate(
  schema: ZodObject,
  input: unknown,
  pathPrefix = "",
): Record<string, unknown> {
  const result = schema.safeParse(input);
  if (result.success) return result.data as Record<string, unknown>;
  const errors = result.error.issues.flatMap((issue) => {
    const base = `${pathPrefix}/${issue.path.map(String).join("/")}`.replace(/\/$/, "") || "/";
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        path: `${pathPrefix}/${key}`,
        message: "unknown or read-only field",
      }));
    }
    return [{ path: base, message: issue.message }];
  });
  throw new ApiError("VALIDATION_FAILED", `${errors.length} field problem(s).`, { errors });
}
