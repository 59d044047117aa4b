// zod's classic API exactly as `import { z } from "zod"` gives it, minus `z.locales`: the 64
// message catalogues (~260 KiB raw) that `export * as locales` drags into any bundle where the
// `z` namespace escapes (drizzle-zod passes it around, so esbuild cannot shake it). wrangler.toml
// aliases "zod" and "zod/v4" here for the Worker build only; English messages still register on
// first schema construction (classic/schemas.js). Paths are relative so the alias cannot recurse.
// Also left out, as nothing here uses them and the escaping namespace would ship them anyway:
// the opt-in AOT compiler (`compile`, `withParser`, `ZodCompile*Error`), `fromJSONSchema` and
// `deepPartial` (~45 KiB raw). Re-check against node_modules/zod/v4/classic/external.js when zod
// is upgraded.
import * as z from "./zod-without-locales.js";

export * from "../../../node_modules/zod/v4/classic/checks.js";
export * as coerce from "../../../node_modules/zod/v4/classic/coerce.js";
export * from "../../../node_modules/zod/v4/classic/compat.js";
export * from "../../../node_modules/zod/v4/classic/errors.js";
export { input, output } from "../../../node_modules/zod/v4/classic/in-out.js";
export * as iso from "../../../node_modules/zod/v4/classic/iso.js";
export {
  ZodISODate,
  ZodISODateTime,
  ZodISODuration,
  ZodISOTime,
} from "../../../node_modules/zod/v4/classic/iso.js";
export * from "../../../node_modules/zod/v4/classic/parse.js";
export * from "../../../node_modules/zod/v4/classic/schemas.js";
export {
  $brand,
  $input,
  $output,
  clone,
  config,
  flattenError,
  formatError,
  getDiscriminatedOption,
  globalRegistry,
  INVALID,
  memoizer,
  NEVER,
  prettifyError,
  regexes,
  registry,
  TimePrecision,
  toZod,
  treeifyError,
  util,
} from "../../../node_modules/zod/v4/core/index.js";
export { toJSONSchema } from "../../../node_modules/zod/v4/core/json-schema-processors.js";
// z.core, likewise without core's own `locales` re-export.
export * as core from "./zod-core-without-locales.js";
export { z, z as default };
