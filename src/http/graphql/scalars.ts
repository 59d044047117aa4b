import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  GraphQLScalarType,
  GraphQLString,
  type GraphQLScalarType as ScalarType,
  valueFromASTUntyped,
} from "graphql";
import type { CollectionModel } from "../../core/records/model";
import { graphqlName, pascal } from "./names";

/** Any JSON value (JSON columns such as a post's tags). */
export const JSONScalar = new GraphQLScalarType({
  name: "JSON",
  description: "Any JSON value (a JSON column of the collection).",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

/** Timestamps as ISO 8601 strings. */
export const DateTimeScalar = new GraphQLScalarType({
  name: "DateTime",
  description: "An ISO 8601 date and time.",
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
  parseValue: (value) => new Date(String(value)),
  parseLiteral: (ast) => (ast.kind === "StringValue" ? new Date(ast.value) : undefined),
});

/** 64-bit integers as decimal strings (JSON numbers lose precision past 2^53). */
export const BigIntScalar = new GraphQLScalarType({
  name: "BigInt",
  description: "A 64-bit integer as a decimal string.",
  serialize: (value) => String(value),
  parseValue: (value) => BigInt(String(value)),
  parseLiteral: (ast) =>
    ast.kind === "StringValue" || ast.kind === "IntValue" ? BigInt(ast.value) : undefined,
});

type FieldType = ScalarType | GraphQLEnumType;

/**
 * The GraphQL type of a collection field, the same for output and input: ids and relation
 * fields are `ID`, enum text columns an enum (`PostStatus`), then by the column's data type.
 * Enum types are made once per field and kept in `enums`.
 */
export function fieldType(
  model: CollectionModel,
  key: string,
  typeName: string,
  enums: Map<string, GraphQLEnumType>,
): FieldType {
  if (key === "id" || model.relations.has(key)) return GraphQLID;
  const column = model.fields.get(key)!.column as { dataType: string; columnType: string } & {
    enumValues?: readonly string[];
  };
  switch (column.dataType) {
    case "string": {
      const values = column.enumValues;
      if (values && values.length > 0 && values.every((v) => graphqlName.test(v))) {
        const name = `${typeName}${pascal(key)}`;
        let type = enums.get(name);
        if (type === undefined) {
          type = new GraphQLEnumType({
            name,
            values: Object.fromEntries(values.map((v) => [v, { value: v }])),
          });
          enums.set(name, type);
        }
        return type;
      }
      return GraphQLString;
    }
    case "number":
      return /Integer/.test(column.columnType) ? GraphQLInt : GraphQLFloat;
    case "boolean":
      return GraphQLBoolean;
    case "date":
      return DateTimeScalar;
    case "bigint":
      return BigIntScalar;
    default:
      return JSONScalar;
  }
}
