import {
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  parse,
} from "graphql";
import { describe, expect, it } from "vitest";
import { checkLimits, graphqlLimits } from "./limits";

function measure(text: string, variables: Record<string, unknown> = {}) {
  const doc = parse(text);
  const operation = doc.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )!;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of doc.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  return checkLimits(operation, fragments, variables, (name) => name.startsWith("list"));
}

function code(text: string, variables?: Record<string, unknown>) {
  try {
    measure(text, variables);
    return "ok";
  } catch (err) {
    expect(err).toBeInstanceOf(GraphQLError);
    return (err as GraphQLError).extensions.code;
  }
}

const nest = (n: number) => `${"a { ".repeat(n - 1)}b${" }".repeat(n - 1)}`;

describe("GraphQL limits", () => {
  it("measures depth through fragments and refuses past the limit", () => {
    expect(measure(`{ ${nest(graphqlLimits.maxDepth)} }`).depth).toBe(graphqlLimits.maxDepth);
    expect(code(`{ ${nest(graphqlLimits.maxDepth + 1)} }`)).toBe("QUERY_TOO_DEEP");
    expect(code(`{ a { ...F } } fragment F on X { ${nest(graphqlLimits.maxDepth)} }`)).toBe(
      "QUERY_TOO_DEEP",
    );
  });

  it("gives introspection its own depth and no cost", () => {
    const deep = `{ __schema { types { fields { type { ${"ofType { ".repeat(9)}name${" }".repeat(9)} } } } } }`;
    expect(code(deep)).toBe("ok");
    expect(code(`{ __type(name: "X") { ${nest(graphqlLimits.maxIntrospectionDepth)} } }`)).toBe(
      "QUERY_TOO_DEEP",
    );
  });

  it("counts aliases", () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `x${i}: a`).join(" ");
    expect(measure(`{ ${fields(graphqlLimits.maxAliases)} }`).aliases).toBe(
      graphqlLimits.maxAliases,
    );
    expect(code(`{ ${fields(graphqlLimits.maxAliases + 1)} }`)).toBe("TOO_MANY_ALIASES");
  });

  it("weighs a list's children by its limit (a literal, a variable, or the default 30)", () => {
    expect(measure(`{ list(limit: 10) { items { a b } } }`).cost).toBe(1 + 10 * 3);
    expect(measure(`query($n: Int) { list(limit: $n) { items { a } } }`, { n: 5 }).cost).toBe(
      1 + 5 * 2,
    );
    expect(measure(`{ list { items { a } } }`).cost).toBe(1 + 30 * 2);
    // A limit past the maximum page counts as the maximum (the engine refuses it anyway).
    expect(measure(`{ list(limit: 100000) { items { a } } }`).cost).toBe(1 + 200 * 2);
    const many = Array.from(
      { length: 30 },
      (_, i) => `l${i}: list(limit: 200) { items { a b c d } }`,
    );
    expect(code(`{ ${many.join(" ")} }`)).toBe("QUERY_TOO_COMPLEX");
  });

  it("stops measuring a fragment spread many times over", () => {
    const bomb = Array.from(
      { length: 40 },
      (_, i) => `fragment F${i} on Q { ${i === 39 ? "a" : `...F${i + 1} ...F${i + 1}`} }`,
    );
    expect(code(`{ ...F0 } ${bomb.join(" ")}`)).toBe("QUERY_TOO_COMPLEX");
  });
});
