import fc from "fast-check";

type Json = Record<string, unknown>;

/**
 * fast-check arbitraries from the JSON Schemas in an OpenAPI document, for property tests that
 * build requests from the document itself: what it says is valid must be accepted, and values
 * that break it must be refused with the problem it documents. Covers what the document uses:
 * $ref, anyOf/oneOf, const/enum, string length and pattern, integer/number bounds, booleans,
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
      if (typeof s.pattern === "string")
        return fc
          .stringMatching(new RegExp(s.pattern))
          .filter((v) => v.length <= ((s.maxLength as number | undefined) ?? Infinity));
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
