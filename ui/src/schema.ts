import { ApiProblem, api } from "./api";

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
  maxItems?: number;
  anyOf?: JsonSchema[];
  $ref?: string;
  description?: string;
  "x-nearbase-thumbs"?: string[];
}

export type FieldKind =
  | "text"
  | "longtext"
  | "number"
  | "integer"
  | "boolean"
  | "enum"
  | "datetime"
  | "json"
  | "file";

/** A file field, as the multipart create/update body describes it. */
export interface FileSpec {
  multiple: boolean;
  maxFiles: number;
  /** Accepted media types (checked from the content by the API). */
  mimeTypes: string[];
  maxSize: number;
  /** Served only with a file token (the UI always sends one). */
  protected: boolean;
  /** Declared thumbnail sizes (`?thumb=`), e.g. "100x100", "50x50f", "0x100". */
  thumbs: string[];
}

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
  file?: FileSpec;
}

export interface Collection {
  name: string;
  fields: Field[];
  relations: string[];
  canCreate: boolean;
  canUpdate: boolean;
  canDelete: boolean;
}

interface Operation {
  parameters?: { name: string; description?: string }[];
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
}

interface Doc {
  paths: Record<string, Record<string, Operation>>;
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

/** One collection; an unknown name is a 404 problem like the API's. */
export async function collectionNamed(name: string): Promise<Collection> {
  const c = (await collections()).get(name);
  if (c === undefined)
    throw new ApiProblem({
      title: "Unknown collection",
      status: 404,
      code: "UNKNOWN_COLLECTION",
      detail: `There is no collection named ${name}.`,
    });
  return c;
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
    const files = fileSpecs(item.post ?? byId.patch);
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
        ...(files[fieldName] !== undefined && {
          kind: "file" as const,
          file: files[fieldName],
          onCreate: item.post !== undefined,
          onUpdate: byId.patch !== undefined,
        }),
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

/**
 * File fields from a write's multipart body: a binary part (one file) or an array of them
 * (several, up to maxItems); the part's description says the types, the size and "protected".
 */
function fileSpecs(op: Operation | undefined): Record<string, FileSpec> {
  const out: Record<string, FileSpec> = {};
  const parts = op?.requestBody?.content["multipart/form-data"]?.schema?.properties ?? {};
  for (const [name, part] of Object.entries(parts)) {
    const multiple = part.type === "array";
    const file = multiple ? part.items : part;
    if (file?.format !== "binary") continue;
    const text = file.description ?? "";
    out[name] = {
      multiple,
      maxFiles: multiple ? (part.maxItems ?? 100) : 1,
      mimeTypes: (text.split(" (")[0] ?? "").split(", ").filter((t) => t.includes("/")),
      maxSize: Number(/at most (\d+) bytes/.exec(text)?.[1] ?? Number.POSITIVE_INFINITY),
      protected: text.includes("protected"),
      thumbs: file["x-nearbase-thumbs"] ?? [],
    };
  }
  return out;
}

/**
 * The declared thumbnail that best fills a `side`×`side` box: the smallest crop (`WxH`, no
 * suffix: it covers the box like the page's `object-fit: cover`) with both sides at least
 * `side`, else the largest crop below it; undefined when the field declares no crop (the page
 * then shows the image itself, scaled).
 */
export function thumbFor(spec: FileSpec | undefined, side: number): string | undefined {
  const crops = (spec?.thumbs ?? [])
    .map((size) => ({ size, m: /^(\d+)x(\d+)$/.exec(size) }))
    .filter((t) => t.m !== null && Number(t.m[1]) > 0 && Number(t.m[2]) > 0)
    .map((t) => ({ size: t.size, min: Math.min(Number(t.m![1]), Number(t.m![2])) }))
    .sort((a, b) => a.min - b.min);
  return (crops.find((t) => t.min >= side) ?? crops.at(-1))?.size;
}
