// zod's classic API exactly as `import { z } from "zod"` gives it, minus `z.locales`: the 63
// message catalogues (~260 KiB raw, 49 KiB gzip) that `export * as locales` drags into any bundle
// importing the `z` object (every export of it stays). Nearbase's own code uses zod/mini; this is
// for a collection's `validate` written in classic zod. wrangler.toml aliases "zod" and "zod/v4"
// here for the Worker, scripts/build.ts for the Node build; English messages still register on
// first schema construction (classic/schemas.js), as kernel/validate.ts does for zod/mini. Paths
// are relative so the alias cannot recurse.
// Also left out, as they would ship with the `z` object too: the opt-in AOT compiler (`compile`,
// `withParser`, `ZodCompile*Error`), `fromJSONSchema` and `deepPartial` (~45 KiB raw);
// test/node/worker-zod.test.ts lists them and checks the rest is zod's own. Re-check against
// node_modules/zod/v4/classic/external.js when zod is upgraded.
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
