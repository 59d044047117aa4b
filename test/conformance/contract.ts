import { Ajv2020, type ValidateFunction } from "ajv/dist/2020";

/**
 * The API contract as the conformance suites hold the app to it: every response a suite receives
 * is checked against the app's own /openapi.json — its status is documented for the operation,
 * the documented headers are there and well-formed, the contract's headers that are there are
 * documented, and the body has a documented media type and validates against its schema (ajv,
 * JSON Schema 2020-12, as OpenAPI 3.1 uses). A response from a route the document does not know
 * fails loudly, naming what to document.
 *
 * Streams (text/event-stream) are checked by status and headers only: their bodies never end.
 */

type Json = Record<string, unknown>;

export interface ExchangeInfo {
  method: string;
  /** The request path with its query, as sent (a whole URL is accepted too). */
  path: string;
  /** Whether the request was a CORS preflight (OPTIONS with Access-Control-Request-Method). */
  preflight?: boolean;
}

export class ContractError extends Error {
  override name = "ContractError";
}

/** Headers whose presence is part of the contract: if an answer sends one, it is documented. */
const contractHeaders = [
  "etag",
  "location",
  "ratelimit",
  "ratelimit-policy",
  "nearbase-consistency",
  "retry-after",
  "allow",
  "www-authenticate",
];

/**
 * Problems the middleware in front of every route can answer with, whatever the route (a wrong
 * credential, a spent budget, a body too large, a broken URL, no such route or collection).
 */
const edgeProblems: Record<number, string[]> = {
  400: ["MALFORMED_URI"],
  401: ["UNAUTHENTICATED"],
  403: ["FORBIDDEN"],
  404: ["NOT_FOUND", "UNKNOWN_COLLECTION"],
  413: ["PAYLOAD_TOO_LARGE"],
  429: ["RATE_LIMITED"],
};

const httpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

interface PathEntry {
  template: string;
  pattern: RegExp;
  params: number;
  item: Json;
}

export interface Contract {
  /** Checks one exchange; throws a ContractError naming every way it breaks the contract. */
  check(exchange: ExchangeInfo, res: Response): Promise<void>;
  /** Responses checked so far. */
  readonly validated: number;
  /** The document checked against. */
  readonly document: Json;
  /** Checks a value against the schema at a JSON pointer into the document: the problems, or []. */
  validate(at: string, value: unknown): string[];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/** Builds the checker for one OpenAPI 3.1 document. */
export function createContract(document: Json): Contract {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  ajv.addFormat("date-time", {
    type: "string",
    validate: (s: string) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) &&
      !Number.isNaN(Date.parse(s)),
  });
  ajv.addFormat("uri", { type: "string", validate: (s: string) => URL.canParse(s) });
  ajv.addFormat("email", { type: "string", validate: (s: string) => /^[^\s@]+@[^\s@]+$/.test(s) });
  ajv.addSchema(document, "openapi");
  const compiled = new Map<string, ValidateFunction>();
  const validator = (at: string) => {
    let fn = compiled.get(at);
    if (fn === undefined) {
      fn = ajv.compile({ $ref: `openapi#${at}` });
      compiled.set(at, fn);
    }
    return fn;
  };

  const paths: PathEntry[] = Object.entries(document.paths as Record<string, Json>)
    .map(([template, item]) => {
      const source = template
        .split(/(\{\w+\})/)
        .map((part) => (/^\{\w+\}$/.test(part) ? "[^/]+" : escapeRe(part)))
        .join("");
      return {
        template,
        pattern: new RegExp(`^${source}$`),
        params: (template.match(/\{/g) ?? []).length,
        item,
      };
    })
    // A concrete path wins over a templated one (/api/keys/{id} vs a literal sibling).
    .sort((a, b) => a.params - b.params);

  const resolve = (value: unknown): Json => {
    let v = value as Json;
    for (let i = 0; i < 8 && typeof v?.$ref === "string"; i++) {
      const ref = v.$ref as string;
      v = ref
        .slice(2)
        .split("/")
        .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))
        .reduce<Json>((node, key) => node?.[key] as Json, document);
    }
    return v;
  };

  let validated = 0;

  async function check(exchange: ExchangeInfo, res: Response): Promise<void> {
    const url = new URL(exchange.path, "http://contract.test");
    const method = exchange.method.toLowerCase();
    const where = `${exchange.method.toUpperCase()} ${url.pathname}${url.search} → ${res.status}`;
    const problems: string[] = [];
    const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();

    if (exchange.preflight && method === "options") {
      // A CORS preflight is answered by the CORS layer for any path: no body, no operation.
      if (res.status !== 204) problems.push(`a CORS preflight answered ${res.status}, not 204`);
      return finish(where, problems);
    }

    const entry = paths.find((p) => p.pattern.test(url.pathname));
    const opMethod = method === "head" ? "get" : method;
    const operation = entry?.item[opMethod] as Json | undefined;

    if (entry === undefined || operation === undefined) {
      const problem = type === "application/problem+json" ? await readJson(res) : undefined;
      const code = (problem as { code?: string } | undefined)?.code;
      if (entry !== undefined && res.status === 405) {
        // A documented path asked with a method it does not take: Allow names exactly the
        // documented methods.
        const documented = Object.keys(entry.item).filter((m) => httpMethods.includes(m));
        const expected = new Set(documented.map((m) => m.toUpperCase()));
        if (expected.has("GET")) expected.add("HEAD");
        const allow = new Set(
          (res.headers.get("allow") ?? "")
            .split(",")
            .map((m) => m.trim())
            .filter(Boolean),
        );
        if ([...expected].sort().join() !== [...allow].sort().join())
          problems.push(
            `Allow says ${[...allow].join(", ") || "(nothing)"} but ${entry.template} documents ${[...expected].join(", ")}`,
          );
        problems.push(...schemaErrors(validator("/components/schemas/Problem"), problem, "body"));
        if (code !== "METHOD_NOT_ALLOWED") problems.push(`405 with code ${code}`);
        return finish(where, problems);
      }
      if (code !== undefined && edgeProblems[res.status]?.includes(code)) {
        problems.push(...schemaErrors(validator("/components/schemas/Problem"), problem, "body"));
        return finish(where, problems);
      }
      const what =
        entry === undefined
          ? `the path ${url.pathname} matches no path in /openapi.json`
          : `${entry.template} documents no ${opMethod.toUpperCase()} operation`;
      throw new ContractError(
        `Undocumented route: ${where} (${what}). Whoever added this route: describe it in a RouteDocs table next to the route (see src/http/route-docs.ts and src/http/routes/auth.ts for the pattern), export the module's paths (e.g. \`fooPaths = () => openApiPaths("/api/foo", docs)\`) and list it in src/http/openapi.ts — method, parameters, request body schema, each response's status, headers and body schema, and the problem codes it raises.`,
      );
    }

    const responses = operation.responses as Record<string, Json>;
    const base = `/paths/${pointer(entry.template, opMethod, "responses")}`;
    const statusKey = [String(res.status), `${String(res.status)[0]}XX`, "default"].find(
      (k) => responses[k] !== undefined,
    );
    if (statusKey === undefined) {
      const problem = type === "application/problem+json" ? await readJson(res) : undefined;
      const code = (problem as { code?: string } | undefined)?.code;
      throw new ContractError(
        `Undocumented status: ${where}${code ? ` (${code})` : ""}; ${opMethod.toUpperCase()} ${entry.template} documents ${Object.keys(responses).join(", ")}. Document it in the route's RouteDoc (responses, or raises for a problem code).`,
      );
    }
    const response = resolve(responses[statusKey]);
    const at = `${base}/${pointer(statusKey)}`;

    // Headers: documented ones are well-formed (and there, if required); contract ones are documented.
    const documentedHeaders = new Map<string, Json>();
    for (const [name, header] of Object.entries((response.headers as Json | undefined) ?? {}))
      documentedHeaders.set(name.toLowerCase(), resolve(header));
    for (const [name, header] of documentedHeaders) {
      const value = res.headers.get(name);
      if (value === null) {
        if (header.required === true) problems.push(`required header ${name} is missing`);
        continue;
      }
      const schema = resolve(header.schema) as Json | undefined;
      if (schema !== undefined) {
        const fn = ajv.compile(schema);
        const coerced = /integer|number/.test(String(schema.type)) ? Number(value) : value;
        if (!fn(coerced))
          problems.push(`header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(fn.errors)}`);
      }
    }
    for (const name of contractHeaders) {
      if (res.headers.has(name) && !documentedHeaders.has(name))
        problems.push(`sends header ${name}, which is not documented for ${res.status}`);
    }

    // Body. A 101 (WebSocket handshake) has none, and its response cannot be cloned.
    if (res.status === 101) return finish(where, problems);
    const content = response.content as Record<string, Json> | undefined;
    if (content === undefined || res.status === 304 || method === "head") {
      if (method !== "head" && res.status !== 304 && content === undefined) {
        const text = await res.clone().text();
        if (text.length > 0)
          problems.push(`has a body (${type || "no type"}) but none is documented`);
      }
      return finish(where, problems);
    }
    const mediaKey = Object.keys(content).find(
      (k) => k === type || k === "*/*" || (k.endsWith("/*") && type.startsWith(k.slice(0, -1))),
    );
    if (mediaKey === undefined) {
      problems.push(
        `content-type ${type || "(none)"} is not one of ${Object.keys(content).join(", ")}`,
      );
      return finish(where, problems);
    }
    if (type === "text/event-stream") return finish(where, problems);
    if (/^application\/(.+\+)?json$/.test(type)) {
      const body = await readJson(res);
      const media = content[mediaKey]!;
      if (media.schema !== undefined) {
        problems.push(
          ...schemaErrors(validator(`${at}/content/${pointer(mediaKey)}/schema`), body, "body"),
        );
      }
    }
    return finish(where, problems);
  }

  function finish(where: string, problems: string[]) {
    validated++;
    if (problems.length > 0)
      throw new ContractError(
        `Response breaks /openapi.json: ${where}\n  - ${problems.join("\n  - ")}`,
      );
  }

  return {
    check,
    validate: (at, value) => schemaErrors(validator(at), value, "example"),
    get validated() {
      return validated;
    },
    document,
  };
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.clone().text();
  try {
    return JSON.parse(text);
  } catch {
    return { unparseable: text.slice(0, 200) };
  }
}

function schemaErrors(fn: ValidateFunction, value: unknown, label: string): string[] {
  if (fn(value)) return [];
  return (fn.errors ?? [])
    .slice(0, 8)
    .map(
      (e) =>
        `${label}${e.instancePath} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ""} (schema ${e.schemaPath})`,
    )
    .concat((fn.errors?.length ?? 0) > 8 ? [`…and ${fn.errors!.length - 8} more`] : [], [
      `${label} was ${JSON.stringify(value).slice(0, 300)}`,
    ]);
}
