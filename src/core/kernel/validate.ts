import type { z } from "zod";
import { ApiError, type FieldProblem } from "./errors";

/**
 * Validates input against a zod schema and returns its typed output. Every problem is reported
 * with its JSON-pointer path (under `pathPrefix`), as one VALIDATION_FAILED problem.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  pathPrefix = "",
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors: FieldProblem[] = result.error.issues.flatMap((issue) => {
    const base = `${pathPrefix}/${issue.path.map(String).join("/")}`.replace(/\/$/, "") || "/";
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        path: `${base === "/" ? "" : base}/${key}`,
        message: "unknown or read-only field",
      }));
    }
    return [{ path: base, message: issue.message }];
  });
  throw new ApiError("VALIDATION_FAILED", `${errors.length} field problem(s).`, { errors });
}
