import { GraphQLError } from "graphql";
import { ApiError } from "../../core/kernel/errors";

/** GraphQL error codes of our own (the engine's ApiError codes are used as they are). */
export type GraphQLErrorCode =
  | "GRAPHQL_PARSE_FAILED"
  | "GRAPHQL_VALIDATION_FAILED"
  | "BAD_USER_INPUT"
  | "QUERY_TOO_LONG"
  | "QUERY_TOO_DEEP"
  | "TOO_MANY_ALIASES"
  | "QUERY_TOO_COMPLEX"
  | "INTROSPECTION_DISABLED"
  | "OPERATION_NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "PERSISTED_QUERY_NOT_FOUND"
  | "PERSISTED_QUERY_HASH_MISMATCH"
  | "BAD_REQUEST"
  | "FORBIDDEN"
  | "INTERNAL";

/** A request-level GraphQL error (nothing was executed) with a stable `extensions.code`. */
export function requestError(
  code: GraphQLErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

/** Thrown by a resolver: the engine's error as a GraphQL error keeping its code and details. */
export function fromApiError(err: ApiError): GraphQLError {
  return new GraphQLError(err.message, {
    originalError: err,
    extensions: {
      code: err.code,
      status: err.status,
      ...(err.errors ? { errors: err.errors } : {}),
      ...(err.headers?.etag ? { etag: err.headers.etag } : {}),
    },
  });
}

/**
 * What a client may see of an error raised while executing: the engine's ApiErrors and our own
 * GraphQL errors keep their message and code; GraphQL's own (variable coercion, a non-null field
 * that came back null) get a code; anything else — a database error whose message might quote
 * SQL, a bug — becomes a bare "Internal error" (the cause is logged by the caller, never sent).
 */
export function sanitize(error: GraphQLError): { error: GraphQLError; internal: boolean } {
  const original = error.originalError;
  if (original instanceof ApiError) {
    const mapped = fromApiError(original);
    return {
      error: new GraphQLError(mapped.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: mapped.extensions,
      }),
      internal: original.status >= 500,
    };
  }
  if (original === undefined || original === null || original instanceof GraphQLError) {
    const code = error.extensions?.code ?? (original as GraphQLError | undefined)?.extensions?.code;
    return {
      error: new GraphQLError(withoutValues(error.message), {
        nodes: error.nodes,
        path: error.path,
        extensions: { ...error.extensions, code: code ?? "BAD_USER_INPUT" },
      }),
      internal: false,
    };
  }
  return {
    error: new GraphQLError("Internal error.", {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: "INTERNAL" },
    }),
    internal: true,
  };
}

/**
 * GraphQL's variable errors quote the whole value sent (`Variable "$d" got invalid value {…}; …`):
 * the answer keeps the variable, the path and the reason, not the value, so a password or an
 * address sent in a bad input is not echoed into answers and logs.
 */
function withoutValues(message: string): string {
  const match = /^(Variable "\$\w+") got invalid value [\s\S]*?(?: at "([^"]*)")?; ([^;]*)$/.exec(
    message,
  );
  if (match === null) return message;
  return `${match[1]} got an invalid value${match[2] ? ` at "${match[2]}"` : ""}; ${match[3]}`;
}
