/**
 * Every error Nearbase answers with has one of these stable codes. Clients branch on `code`,
 * never on `title` or `detail`, so a code is never renamed once shipped. The status for each
 * code lives here and only here.
 */
export const errorStatus = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  VALIDATION_FAILED: 400,
  INVALID_FILTER: 400,
  INVALID_QUERY: 400,
  QUERY_TOO_EXPENSIVE: 400,
  UNKNOWN_COLLECTION: 404,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  CONFIG_INVALID: 500,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
  MALFORMED_URI: 400,
  EMAIL_NOT_VERIFIED: 403,
  API_KEY_LIMIT: 409,
  STEP_UP_REQUIRED: 401,
  REAUTHENTICATION_REQUIRED: 403,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof errorStatus;
/** The HTTP statuses problems use (all have a body). */
export type ErrorStatus = (typeof errorStatus)[ErrorCode];

const titles: Record<ErrorCode, string> = {
  BAD_REQUEST: "Bad request",
  INVALID_JSON: "Request body is not valid JSON",
  VALIDATION_FAILED: "Validation failed",
  INVALID_FILTER: "Invalid filter",
  INVALID_QUERY: "Invalid query parameter",
  QUERY_TOO_EXPENSIVE: "Query too expensive",
  UNKNOWN_COLLECTION: "Unknown collection",
  UNAUTHENTICATED: "Authentication required",
  FORBIDDEN: "Forbidden",
  NOT_FOUND: "Not found",
  METHOD_NOT_ALLOWED: "Method not allowed",
  CONFLICT: "Conflict",
  PRECONDITION_FAILED: "Precondition failed",
  PAYLOAD_TOO_LARGE: "Payload too large",
  UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
  RANGE_NOT_SATISFIABLE: "Range not satisfiable",
  RATE_LIMITED: "Too many requests",
  INTERNAL: "Internal server error",
  CONFIG_INVALID: "Server misconfigured",
  NOT_IMPLEMENTED: "Not implemented",
  UNAVAILABLE: "Service unavailable",
  MALFORMED_URI: "Malformed percent-encoding in the URL",
  EMAIL_NOT_VERIFIED: "Email address not verified by the provider",
  API_KEY_LIMIT: "Too many API keys",
  STEP_UP_REQUIRED: "A recent sign-in is required",
  REAUTHENTICATION_REQUIRED: "Re-authentication required",
};

/** A problem with one field of the input, addressed by a JSON-pointer-like path. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** The RFC 9457 body every error response carries. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  requestId?: string;
  errors?: FieldProblem[];
}

export interface ApiErrorOptions {
  errors?: FieldProblem[];
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * The one error type handlers throw. It carries a stable code and a detail safe to show the
 * caller; anything sensitive belongs in `cause`, which is logged and never sent.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: ErrorStatus;
  readonly errors: FieldProblem[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, detail?: string, options: ApiErrorOptions = {}) {
    super(detail ?? titles[code], { cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.status = errorStatus[code];
    this.errors = options.errors;
    this.headers = options.headers;
  }
}

export const problemContentType = "application/problem+json";

/** Builds the problem body for a code; `detail` must already be safe to show. */
export function toProblem(
  code: ErrorCode,
  detail: string | undefined,
  requestId: string | undefined,
  errors?: FieldProblem[],
): Problem {
  const problem: Problem = {
    type: `https://nearbase.dev/problems/${code.toLowerCase().replaceAll("_", "-")}`,
    title: titles[code],
    status: errorStatus[code],
    code,
  };
  if (detail !== undefined && detail !== titles[code]) problem.detail = detail;
  if (requestId !== undefined) problem.requestId = requestId;
  if (errors !== undefined && errors.length > 0) problem.errors = errors;
  return problem;
}

/** A complete problem+json response, for places that have no Hono context. */
export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { ...headers, "content-type": problemContentType },
  });
}
