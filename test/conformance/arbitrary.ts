import fc from "fast-check";

type Json = Record<string, unknown>;

/**
 * fast-check arbitraries from the JSON Schemas in an OpenAPI document, for property tests that
 * build requests from the document itself: what it says is valid must be accepted, and values
 * that break it must be refused with the problem it documents. Covers what the document uses:
 * $ref, anyOf/oneOf, const/enum, string length, pattern and email format, integer/number bounds, booleans,
 * null, arrays with item counts, and objects with required and additional properties.
 */
export function arbitraryOf(schema: unknown, document: Json, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, document);
  if (depth > 6) return fc.constant(null);
  if ("const" in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  const options = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (options !== undefined)
    return fc.oneof(...options.map((o) => arbitraryOf(o, document, depth + 1)));
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string | undefined];
  if (types.length > 1)
    return fc.oneof(...types.map((type) => arbitraryOf({ ...s, type }, document, depth + 1)));
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({
        min: (s.minimum as number | undefined) ?? -1_000_000,
        max: (s.maximum as number | undefined) ?? 1_000_000,
      });
    case "number":
      return fc.double({
        min: (s.minimum as number | undefined) ?? -1e6,
        max: (s.maximum as number | undefined) ?? 1e6,
        noNaN: true,
      });
    case "string": {
      if (s.format === "email") {
        // fast-check's RFC 5322/1034 addresses (dot-atom local parts, host names), within the limits.
        const min = (s.minLength as number | undefined) ?? 0;
        const max = (s.maxLength as number | undefined) ?? Infinity;
        return fc.emailAddress().filter((v) => v.length >= min && v.length <= max);
      }
      if (typeof s.pattern === "string") {
        // fast-check cannot generate from lookaheads: generate from the rest, keep what matches.
        const full = new RegExp(s.pattern, "u");
        return fc
          .stringMatching(new RegExp(withoutLookaheads(s.pattern)))
          .filter((v) => full.test(v))
          .filter((v) => v.length <= ((s.maxLength as number | undefined) ?? Infinity));
      }
      return fc.string({
        minLength: (s.minLength as number | undefined) ?? 0,
        maxLength: Math.min((s.maxLength as number | undefined) ?? 40, 40),
      });
    }
    case "array":
      return fc.array(arbitraryOf(s.items ?? {}, document, depth + 1), {
        minLength: (s.minItems as number | undefined) ?? 0,
        maxLength: Math.min((s.maxItems as number | undefined) ?? 5, 5),
      });
    case "object": {
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      const required = (s.required ?? []) as string[];
      return fc.record(
        Object.fromEntries(
          Object.entries(properties).map(([k, v]) => [k, arbitraryOf(v, document, depth + 1)]),
        ),
        { requiredKeys: required },
      );
    }
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

/** A regular expression's source without its `(?!…)`/`(?=…)` groups (which only restrict). */
function withoutLookaheads(source: string): string {
  let out = "";
  for (let i = 0; i < source.length; i++) {
    if (source[i] === "\\") {
      out += source.slice(i, i + 2);
      i++;
    } else if (source.startsWith("(?!", i) || source.startsWith("(?=", i)) {
      let depth = 0;
      for (; i < source.length; i++) {
        if (source[i] === "\\") i++;
        else if (source[i] === "(") depth++;
        else if (source[i] === ")" && --depth === 0) break;
      }
    } else out += source[i];
  }
  return out;
}

/** Follows `$ref`s (local JSON pointers) to the schema they name. */
export function resolve(schema: unknown, document: Json): Json {
  let s = (schema ?? {}) as Json;
  for (let i = 0; i < 8 && typeof s.$ref === "string"; i++) {
    s = (s.$ref as string)
      .slice(2)
      .split("/")
      .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))
      .reduce<Json>((node, key) => node[key] as Json, document);
  }
  return s;
}

/** A body that breaks its schema in one named way. */
export interface Broken {
  kind: "unknown key" | "wrong type" | "missing" | "too long";
  /** The property at fault (the problem's `errors[].path` names it). */
  field?: string;
  body: Json;
}

/** The JSON types a schema admits (through anyOf/oneOf, enum and const too). */
function jsonTypesOf(schema: unknown, document: Json): Set<string> {
  const s = resolve(schema, document);
  const options = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (options !== undefined) return new Set(options.flatMap((o) => [...jsonTypesOf(o, document)]));
  const values = "const" in s ? [s.const] : Array.isArray(s.enum) ? (s.enum as unknown[]) : [];
  if (values.length > 0)
    return new Set(
      values.map((v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v)),
    );
  if (s.type === undefined)
    return new Set(["string", "number", "boolean", "null", "array", "object"]);
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  return new Set(types.map((t) => (t === "integer" ? "number" : t)));
}

/** The largest string a schema admits, if it bounds one (through anyOf/oneOf too). */
function maxLengthOf(schema: unknown, document: Json): number | undefined {
  const s = resolve(schema, document);
  const options = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (options !== undefined) {
    const limits = options.map((o) => maxLengthOf(o, document));
    return limits.some((l) => l === undefined) ? undefined : Math.max(...(limits as number[]));
  }
  return typeof s.maxLength === "number" ? s.maxLength : undefined;
}

const samples: Record<string, unknown> = {
  string: "text",
  number: 12345,
  boolean: true,
  null: null,
  array: ["x"],
  object: { a: 1 },
};

/**
 * Bodies that break an object schema, each from a valid body (`valid`) changed in one way: a key
 * the schema does not allow, a property of a JSON type it does not admit, a required property
 * left out, or a string one to twenty characters over its maxLength.
 */
export function brokenBodyOf(
  schema: unknown,
  document: Json,
  valid: fc.Arbitrary<unknown>,
): fc.Arbitrary<Broken> {
  const s = resolve(schema, document);
  const properties = (s.properties ?? {}) as Record<string, unknown>;
  const required = (s.required ?? []) as string[];
  const ways: fc.Arbitrary<Broken>[] = [];
  const base = valid as fc.Arbitrary<Json>;
  if (s.additionalProperties === false) {
    const key = fc
      .stringMatching(/^[a-z][A-Za-z]{0,11}$/)
      .filter((k) => !(k in properties) && k !== "__proto__");
    ways.push(
      fc
        .tuple(base, key, fc.jsonValue({ maxDepth: 1 }))
        .map(([body, k, v]) => ({ kind: "unknown key", field: k, body: { ...body, [k]: v } })),
    );
  }
  for (const [name, property] of Object.entries(properties)) {
    const admitted = jsonTypesOf(property, document);
    const wrong = Object.keys(samples).filter((type) => !admitted.has(type));
    if (wrong.length > 0)
      ways.push(
        fc.tuple(base, fc.constantFrom(...wrong)).map(([body, type]) => ({
          kind: "wrong type",
          field: name,
          body: { ...body, [name]: samples[type] },
        })),
      );
    const max = maxLengthOf(property, document);
    if (max !== undefined)
      ways.push(
        fc.tuple(base, fc.integer({ min: 1, max: 20 })).map(([body, over]) => ({
          kind: "too long",
          field: name,
          body: { ...body, [name]: "x".repeat(max + over) },
        })),
      );
  }
  if (required.length > 0)
    ways.push(
      fc.tuple(base, fc.constantFrom(...required)).map(([body, name]) => {
        const { [name]: _, ...rest } = body;
        return { kind: "missing", field: name, body: rest };
      }),
    );
  return fc.oneof(...ways);
}
