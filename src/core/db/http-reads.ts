import type { Client, InArgs, InStatement, InValue, ResultSet, Row } from "@libsql/client";
import { LibsqlError } from "@libsql/core/api";
import { expandConfig } from "@libsql/core/config";
import { encodeBaseUrl } from "@libsql/core/uri";
import { ResultSetImpl } from "@libsql/core/util";

/** A fetch that takes a URL and init, as `fetchWithTimeout` returns. */
export type DatabaseFetch = (input: string, init: RequestInit) => Promise<Response>;

type HranaValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

interface PipelineResponse {
  results?: {
    type?: string;
    error?: { message?: unknown; code?: unknown };
    response?: {
      type?: string;
      result?: {
        cols: { name?: string | null; decltype?: string | null }[];
        rows: HranaValue[][];
        affected_row_count: number;
        last_insert_rowid?: string | null;
      };
    };
  }[];
}

/** The fast path could not take this statement or this answer: the client runs it instead. */
const declined = Symbol("declined");

/**
 * A libSQL HTTP client whose single SELECTs go straight to the server: one `fetch` of the
 * Hrana pipeline `[execute, close]` — what `@libsql/client`'s `execute` sends — with the body
 * written by `JSON.stringify` and the answer read with `Response.json()`, instead of the client's
 * stream, queue, microtask flushes, URL/Headers/Request objects and its JSON writer and reader
 * (~40 % of a read's JavaScript in workerd besides the fetch itself; see
 * bench/results/workers-cpu-2026-12-07.md). Rows and result sets are built as the client builds
 * them (same values, same non-enumerable indexes, the same ResultSet class), with intMode
 * "number".
 *
 * Anything else — writes, batches, transactions — and any SELECT whose arguments or answer are
 * out of the ordinary (a blob or bigint argument, an integer beyond 2^53, an answer that is not
 * the protocol's JSON, a closed client) is run by `client` itself. A SELECT the server refuses
 * (an error result, a non-200) is not sent again: its error is built as the client builds it
 * (same class, code and message; src/core/db/http-reads.test.ts compares them), so an
 * overloaded server never sees a read twice. A fetch that fails outright (no answer: `fetch`
 * throws, e.g. DatabaseUnreachable after the timeout) is thrown as is, not retried. Used by the Workers home (src/platform/workers/platform.ts),
 * where every libSQL call is an HTTP subrequest.
 */
export function fastHttpReads(
  client: Client,
  config: { url: string; authToken?: string },
  fetchFn: DatabaseFetch,
): Client {
  const pipelineUrl = pipelineUrlOf(config.url);
  if (pipelineUrl === undefined || client.protocol !== "http") return client;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (config.authToken !== undefined) headers.authorization = `Bearer ${config.authToken}`;

  async function fastExecute(
    stmt: InStatement,
    args?: InArgs,
  ): Promise<ResultSet | typeof declined> {
    const sql = typeof stmt === "string" ? stmt : stmt.sql;
    const values = typeof stmt === "string" ? args : stmt.args;
    if (!selectOnly.test(sql) || client.closed) return declined;
    const encoded = encodeStatement(sql, values);
    if (encoded === undefined) return declined;
    const res = await fetchFn(pipelineUrl!, {
      method: "POST",
      headers,
      body: `{"requests":[{"type":"execute","stmt":${encoded}},{"type":"close"}]}`,
    });
    // A refused statement or an HTTP error is thrown as the client throws it, not sent again:
    // running it a second time would double an overloaded server's load.
    if (res.status !== 200) throw await httpError(res);
    let body: PipelineResponse;
    try {
      body = (await res.json()) as PipelineResponse;
    } catch {
      // Not the answer the protocol describes (a rare proxy page): the client reads it anew and
      // says what is wrong.
      return declined;
    }
    const first = body.results?.[0];
    if (first?.type === "error" && typeof first.error?.message === "string")
      throw responseError(first.error.message, first.error.code);
    const result = first?.type === "ok" ? first.response?.result : undefined;
    if (result === undefined || body.results?.[1]?.type !== "ok") return declined;
    return resultSetOf(result) ?? declined;
  }

  const execute = async (stmt: InStatement | string, args?: InArgs): Promise<ResultSet> => {
    const fast = await fastExecute(stmt, args);
    if (fast !== declined) return fast;
    return typeof stmt === "string" ? client.execute(stmt, args) : client.execute(stmt);
  };

  return new Proxy(client, {
    get(target, prop) {
      if (prop === "execute") return execute;
      // The client's methods and getters (closed) use its private fields: run them on the client
      // itself, not on this proxy.
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The error @libsql/client throws for a statement the server refused (hrana's ResponseError
 * through the client's mapHranaError: the proto's code, or UNKNOWN).
 */
function responseError(message: string, code: unknown): LibsqlError {
  return new LibsqlError(message, typeof code === "string" ? code : "UNKNOWN");
}

/**
 * The error @libsql/client throws for a non-200 answer to a pipeline request (hrana's
 * errorFromResponse, then mapHranaError): a JSON body with a message is a refused request;
 * otherwise SERVER_ERROR "Server returned HTTP status N", with a plain-text body appended.
 * (fetchWithTimeout turns every 5xx into plain text, so an overloaded server stays
 * recognisable as unavailable.)
 */
async function httpError(res: Response): Promise<LibsqlError> {
  let message = `Server returned HTTP status ${res.status}`;
  const type = res.headers.get("content-type") ?? "text/plain";
  try {
    if (type === "application/json") {
      const body = (await res.json()) as { message?: unknown; code?: unknown };
      if (typeof body === "object" && body !== null && "message" in body)
        return responseError(String(body.message), body.code);
    } else if (type === "text/plain") {
      const text = (await res.text()).trim();
      if (text !== "") message += `: ${text}`;
    } else await res.body?.cancel();
  } catch {
    // An unreadable body: the status alone.
  }
  return new LibsqlError(message, "SERVER_ERROR");
}

/** One statement that only reads (a SELECT cannot write, so it may be run twice). */
const selectOnly = /^\s*select\b/i;

/**
 * The pipeline URL the client would post to on the Hrana v2 JSON endpoint (every libSQL server
 * and Turso serve it; the client itself falls back to it), or undefined for URLs it would treat
 * specially (query parameters, a non-HTTP scheme): those keep the client's own path.
 */
function pipelineUrlOf(url: string): string | undefined {
  try {
    const config = expandConfig({ url }, true);
    if (config.scheme !== "http" && config.scheme !== "https") return undefined;
    if (new URL(url).search !== "") return undefined;
    return new URL("v2/pipeline", encodeBaseUrl(config.scheme, config.authority, config.path)).href;
  } catch {
    return undefined;
  }
}

/** The statement as @libsql/hrana-client's JSON writer writes it, or undefined to decline. */
function encodeStatement(sql: string, args: InArgs | undefined): string | undefined {
  let positional = "[]";
  let named = "[]";
  if (Array.isArray(args)) {
    const parts: string[] = [];
    for (const v of args) {
      const e = encodeValue(v);
      if (e === undefined) return undefined;
      parts.push(e);
    }
    positional = `[${parts.join(",")}]`;
  } else if (args !== undefined) {
    const parts: string[] = [];
    for (const [name, v] of Object.entries(args)) {
      const e = encodeValue(v);
      if (e === undefined) return undefined;
      parts.push(`{"name":${JSON.stringify(name)},"value":${e}}`);
    }
    named = `[${parts.join(",")}]`;
  }
  return `{"sql":${JSON.stringify(sql)},"args":${positional},"named_args":${named},"want_rows":true}`;
}

/** One argument as the client encodes it (valueToProto, then the JSON Value). */
function encodeValue(v: InValue | undefined): string | undefined {
  if (v === null) return '{"type":"null"}';
  switch (typeof v) {
    case "string":
      return `{"type":"text","value":${JSON.stringify(v)}}`;
    case "number":
      return Number.isFinite(v) ? `{"type":"float","value":${JSON.stringify(v)}}` : undefined;
    case "boolean":
      return `{"type":"integer","value":"${v ? 1 : 0}"}`;
    default:
      if (v instanceof Date) {
        const t = v.valueOf();
        return Number.isFinite(t) ? `{"type":"float","value":${JSON.stringify(t)}}` : undefined;
      }
      // bigint, blobs, undefined and other objects: the client's own encoding (and errors).
      return undefined;
  }
}

type StmtResult = NonNullable<
  NonNullable<NonNullable<PipelineResponse["results"]>[number]["response"]>["result"]
>;

/** The client's result set for a statement result, or undefined to decline. */
function resultSetOf(result: StmtResult): ResultSet | undefined {
  const names = result.cols.map((c) => c.name ?? undefined);
  const rows: Row[] = [];
  // Two descriptors for every property (defineProperty reads them at the call): no object per
  // value. The attributes a descriptor leaves out are false, as in rowFromProto's literals.
  const hidden: PropertyDescriptor = { value: undefined };
  const named: PropertyDescriptor = {
    value: undefined,
    enumerable: true,
    configurable: true,
    writable: true,
  };
  for (const values of result.rows) {
    // As @libsql/hrana-client's rowFromProto: indexes and length not enumerable, the first
    // column of a name enumerable under it.
    const row = {} as Row;
    hidden.value = values.length;
    Object.defineProperty(row, "length", hidden);
    for (let i = 0; i < values.length; i++) {
      const value = decodeValue(values[i]!);
      if (value === declined) return undefined;
      hidden.value = value;
      Object.defineProperty(row, i, hidden);
      const name = names[i];
      if (name !== undefined && !Object.hasOwn(row, name)) {
        named.value = value;
        Object.defineProperty(row, name, named);
      }
    }
    rows.push(row);
  }
  const rowid = result.last_insert_rowid;
  return new ResultSetImpl(
    names.map((n) => n ?? ""),
    result.cols.map((c) => c.decltype ?? ""),
    rows,
    result.affected_row_count,
    rowid === undefined || rowid === null ? undefined : BigInt(rowid),
  );
}

function decodeValue(v: HranaValue): InValue | typeof declined {
  switch (v.type) {
    case "null":
      return null;
    case "text":
      return typeof v.value === "string" ? v.value : declined;
    case "float":
      return typeof v.value === "number" ? v.value : declined;
    case "integer": {
      // intMode "number": the client throws on integers it cannot hold; it may do so itself.
      const n = Number(v.value);
      return typeof v.value === "string" && Number.isSafeInteger(n) ? n : declined;
    }
    case "blob": {
      if (typeof v.base64 !== "string") return declined;
      let bin: string;
      try {
        // js-base64's toUint8Array: URL-safe letters and missing padding are accepted too.
        bin = atob(v.base64.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/")));
      } catch {
        return declined;
      }
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return bytes.buffer;
    }
    default:
      return declined;
  }
}
