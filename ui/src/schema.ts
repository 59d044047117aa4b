import { api } from "./api";

/**
 * What the data browser and the record editor know about collections, read from /openapi.json
 * (the same document the API is checked against): readable fields (the record schema), what a
 * create and an update take, enums, types, relations (the record's `expand`), sortable fields.
 */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  $ref?: string;
  description?: string;
}

export type FieldKind =
  | "text"
  | "longtext"
  | "number"
  | "integer"
  | "boolean"
  | "enum"
  | "datetime"
  | "json";

export interface Field {
  name: string;
  kind: FieldKind;
  nullable: boolean;
  enum?: string[];
  maxLength?: number;
  /** Shown in the table (the record schema has it). */
  readable: boolean;
  /** Taken on create / on update. */
  onCreate: boolean;
  onUpdate: boolean;
  requiredOnCreate: boolean;
  /** A relation: the collection it points into. */
  relation?: string;
  sortable: boolean;
}

export interface Collection {
  name: string;
  fields: Field[];
  relations: string[];
  canCreate: boolean;
  canUpdate: boolean;
  canDelete: boolean;
}

interface Doc {
  paths: Record<string, Record<string, { parameters?: { name: string; description?: string }[] }>>;
  components: { schemas: Record<string, JsonSchema> };
}

let loaded: Promise<Map<string, Collection>> | undefined;

export function collections(): Promise<Map<string, Collection>> {
  loaded ??= api<Doc>("/openapi.json")
    .then(readCollections)
    .catch((err) => {
      loaded = undefined;
      throw err;
    });
  return loaded;
}

function unwrap(schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  if (schema.anyOf !== undefined) {
    const rest = schema.anyOf.filter((s) => s.type !== "null");
    return { schema: rest[0] ?? {}, nullable: rest.length < schema.anyOf.length };
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== "null");
    return { schema: { ...schema, type: types[0] }, nullable: types.length < schema.type.length };
  }
  return { schema, nullable: false };
}

function kindOf(s: JsonSchema): FieldKind {
  if (s.enum !== undefined) return "enum";
  switch (s.type) {
    case "integer":
      return "integer";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "string":
      if (s.format === "date-time") return "datetime";
      return (s.maxLength ?? 0) > 300 ? "longtext" : "text";
    default:
      return "json";
  }
}

export function readCollections(doc: Doc): Map<string, Collection> {
  const out = new Map<string, Collection>();
  const schemas = doc.components.schemas;
  for (const [path, item] of Object.entries(doc.paths)) {
    const m = /^\/api\/collections\/([^/]+)\/records$/.exec(path);
    if (m === null) continue;
    const name = m[1]!;
    const record = schemas[`${name}Record`] ?? {};
    const create = schemas[`${name}Create`];
    const update = schemas[`${name}Update`];
    const byId = doc.paths[`${path}/{id}`] ?? {};
    const sortParam = item.get?.parameters?.find((p) => p.name === "sort")?.description ?? "";
    const sortable = new Set(
      (/Sortable: (.*)$/.exec(sortParam)?.[1] ?? "").split(",").map((s) => s.trim()),
    );
    const relations: Record<string, string> = {};
    for (const [field, s] of Object.entries(record.properties?.expand?.properties ?? {})) {
      const ref = unwrap(s).schema.$ref ?? "";
      relations[field] = ref.replace("#/components/schemas/", "").replace(/Record$/, "");
    }
    const names = new Set([
      ...Object.keys(record.properties ?? {}).filter((n) => n !== "expand"),
      ...Object.keys(create?.properties ?? {}),
      ...Object.keys(update?.properties ?? {}),
    ]);
    const fields: Field[] = [...names].map((fieldName) => {
      const raw =
        record.properties?.[fieldName] ??
        create?.properties?.[fieldName] ??
        update?.properties?.[fieldName] ??
        {};
      const { schema, nullable } = unwrap(raw);
      return {
        name: fieldName,
        kind: kindOf(schema),
        nullable,
        enum: schema.enum?.map(String),
        maxLength: schema.maxLength,
        readable: record.properties?.[fieldName] !== undefined,
        onCreate: create?.properties?.[fieldName] !== undefined,
        onUpdate: update?.properties?.[fieldName] !== undefined,
        requiredOnCreate: create?.required?.includes(fieldName) ?? false,
        relation: relations[fieldName],
        sortable: sortable.has(fieldName),
      };
    });
    out.set(name, {
      name,
      fields,
      relations: Object.keys(relations),
      canCreate: item.post !== undefined,
      canUpdate: byId.patch !== undefined,
      canDelete: byId.delete !== undefined,
    });
  }
  return out;
}
