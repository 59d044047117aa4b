// What the Worker build gets for `import { z } from "zod"` (and drizzle-zod's "zod/v4"; see the
// aliases in wrangler.toml): zod's own classic functions, the very same ones, but only those the
// code calls. `z` is a plain object rather than zod's module namespace: drizzle-zod hands its `z`
// around, so a namespace escapes and esbuild keeps every export of zod (and of `z.core`) with
// it; this object keeps what it names, and the rest of zod falls out of the bundle (-11.7 KiB
// gzip, scripts/bundle-size.ts). Schemas keep all their methods (`.optional()`, `.max()`, …).
// Add a name here when the code starts using a new `z.<name>`: test/node/worker-zod.test.ts
// fails until you do, and checks that each entry is zod's own function.
// The Node build still aliases zod-without-locales.js (scripts/build.ts).
import * as coerce from "../../../node_modules/zod/v4/classic/coerce.js";
import * as iso from "../../../node_modules/zod/v4/classic/iso.js";
import * as schemas from "../../../node_modules/zod/v4/classic/schemas.js";
import { NEVER } from "../../../node_modules/zod/v4/core/core.js";
import { toJSONSchema } from "../../../node_modules/zod/v4/core/json-schema-processors.js";

export const z = {
  // src/**
  array: schemas.array,
  boolean: schemas.boolean,
  discriminatedUnion: schemas.discriminatedUnion,
  enum: schemas.enum,
  literal: schemas.literal,
  looseObject: schemas.looseObject,
  number: schemas.number,
  object: schemas.object,
  record: schemas.record,
  strictObject: schemas.strictObject,
  string: schemas.string,
  union: schemas.union,
  unknown: schemas.unknown,
  ZodType: schemas.ZodType,
  coerce: {
    number: coerce.number,
    // drizzle-zod's, for columns that ask for coercion
    bigint: coerce.bigint,
    boolean: coerce.boolean,
    date: coerce.date,
    string: coerce.string,
  },
  iso: { datetime: iso.datetime },
  NEVER,
  toJSONSchema,
  // drizzle-zod (node_modules/drizzle-zod/index.mjs) for the column types it maps
  any: schemas.any,
  bigint: schemas.bigint,
  custom: schemas.custom,
  date: schemas.date,
  int: schemas.int,
  null: schemas.null,
  tuple: schemas.tuple,
  uuid: schemas.uuid,
};
export default z;
