import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { ApiError, type FieldProblem } from "./errors";

// zod's English messages ("Invalid input: expected string, received number", "Too big: …"):
// classic zod registers them on its first schema, zod/mini never does (messages would all read
// "Invalid input"). Only the `en` catalogue, not zod's 40-odd others. Classic's registration
// keeps whatever is already set, so the messages are the same whichever flavour loads first.
if (!z.config().localeError) z.config(en());

/**
 * Validates input against a zod schema (any zod 4 schema: zod/mini or classic) and returns its
 * typed output. Every problem is reported with its JSON-pointer path (under `pathPrefix`), as
 * one VALIDATION_FAILED problem.
 */
export function validate<S extends z.core.$ZodType>(
  schema: S,
  input: unknown,
  pathPrefix = "",
): z.output<S> {
  const result = z.safeParse(schema, input);
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
