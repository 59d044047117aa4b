import type { Context } from "hono";
import type { TimingVariables } from "hono/timing";
import type { AccountService } from "../core/accounts/service";
import type { WebhookService } from "../core/events/webhooks";
import type { FileService } from "../core/files/service";
import type { Platform } from "../core/kernel/ports";
import type { Principal } from "../core/kernel/principal";
import type { Telemetry } from "../core/observability/telemetry";
import type { PrivacyService } from "../core/privacy/service";
import type { ReadOptions, RecordService } from "../core/records/service";

export { isAdmin, type Principal } from "../core/kernel/principal";

/** What handlers call: the engine, never tables. */
export interface Services {
  records: RecordService;
  accounts: AccountService;
  webhooks: WebhookService;
  privacy: PrivacyService;
  files: FileService;
}

/** The one Hono environment type every route and middleware in Nearbase uses. */
export interface AppEnv {
  Variables: TimingVariables & {
    requestId: string;
    platform: Platform;
    principal: Principal;
    telemetry: Telemetry;
    /** The engine's services, built once per process/isolate. */
    services: Services;
    /** Where this request's reads go (the edge layer sets `fresh` when read-your-writes needs the primary). */
    readOptions: ReadOptions;
    /** Data versions a write on this request produced (the edge layer issues consistency tokens). */
    wrote: Map<string, number> | undefined;
    /** Dispatches a request through this same app (background cache refresh). */
    selfFetch: ((request: Request) => Promise<Response>) | undefined;
    /**
     * The JSON text of this answer's body, when the handler wrote it with `jsonAnswer`: the edge
     * layer tags an answer it does not store from this, without reading the body back.
     */
    answerText: string | undefined;
  };
}

/**
 * `c.json(value)`, keeping the text for the edge layer (`answerText`): the same body and
 * content type, and a private or uncached answer's ETag is hashed from the string instead of
 * the response being read back and rebuilt.
 */
export function jsonAnswer(c: Context<AppEnv>, value: unknown): Response {
  const text = JSON.stringify(value);
  c.set("answerText", text);
  return c.body(text, 200, { "content-type": "application/json" });
}
