import type { TimingVariables } from "hono/timing";
import type { Telemetry } from "../observability/telemetry";
import type { Platform } from "../platform/types";

/** Who is calling. Auth fills this in; until then every request is anonymous. */
export type Principal =
  | { kind: "anonymous" }
  | { kind: "user"; id: string; role: "admin" | "user"; sessionId?: string | undefined }
  | { kind: "apiKey"; id: string; ownerId: string; scopes: readonly string[] };

/** The one Hono environment type every route and middleware in Nearbase uses. */
export interface AppEnv {
  Variables: TimingVariables & {
    requestId: string;
    platform: Platform;
    principal: Principal;
    telemetry: Telemetry;
    /** Set when this request must read from the primary (read-your-writes could not be proven elsewhere). */
    readPrimary: boolean;
    /** Dispatches a request through this same app (background cache refresh). */
    selfFetch: ((request: Request) => Promise<Response>) | undefined;
  };
}

/** Admins bypass collection rules and may read operator endpoints; API keys never count. */
export function isAdmin(principal: Principal | undefined): boolean {
  return principal?.kind === "user" && principal.role === "admin";
}
