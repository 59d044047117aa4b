import type { Context } from "hono";
import type { Caller, Defer } from "../core/accounts/service";
import type { AppEnv } from "./context";

/** The caller as account operations see it: address (throttles) and user agent (session label). */
export function callerOf(c: Context<AppEnv>): Caller {
  return { ip: c.get("platform").clientIp(c), userAgent: c.req.header("user-agent") ?? "" };
}

/** Runs work after this request's answer (Workers `waitUntil`; tracked in Node). */
export function deferOf(c: Context<AppEnv>): Defer {
  return (work) => c.get("platform").defer(c, work);
}
