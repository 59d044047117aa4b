import { Hono, type MiddlewareHandler } from "hono";
import { getPath, getQueryParam } from "hono/utils/url";
import { consistencyCookie, consistencyHeader } from "../../core/edge/consistency";
import type { VersionMemo } from "../../core/edge/versions";
import type { Platform, StoredEntry } from "../../core/kernel/ports";
import { anonymous } from "../../core/kernel/principal";
import { Telemetry } from "../../core/observability/telemetry";
import { traceFromHeaders } from "../../core/observability/trace";
import type { Decision, Policy } from "../../core/rate-limit/gcra";
import type { RateLimitStore } from "../../core/rate-limit/stores";
import type { Models } from "../../core/records/model";
import type { AppEnv } from "../context";
import { presentsCredential } from "./authenticate";
import { shareForPath } from "./edge";
import type { Observability } from "./observe";
import { budgetKey, rateLimitFields } from "./rate-limit";
import {
  cacheHeaders,
  cacheKey,
  type FieldSet,
  freshness,
  revalidateHeader,
  sharing,
} from "./shared-cache";

/** A request as a server hands it over, before any Request object is built. */
export interface BareRequest {
  method: string;
  /** The URL exactly as the app would see it (`http://host/path?query`). */
  url: string;
  /** A request header by lower-case name. */
  header(name: string): string | undefined;
  /** What the server hands the app as bindings (@hono/node-server: `{ incoming, outgoing }`). */
  env: unknown;
}

/** A shared-cache hit, ready to write. */
export interface BareAnswer {
  status: 200 | 304;
  /** Lower-case names, as the app's own answer to the same request would carry them. */
  headers: Record<string, string>;
  /** The stored body; undefined for a 304. */
  body: Uint8Array | undefined;
  /** Counts and (when sampled) logs the request, as the app's observability middleware does. */
  done(): void;
}

export interface SharedHitOptions {
  models: Models;
  memo: VersionMemo;
  platform: Platform;
  /** SHARED_CACHE: nothing is answered when it is off. */
  enabled: boolean;
  observability: Pick<Observability, "record" | "exporter">;
  /**
   * The app's middlewares that add the same fields to every answer without a body of their own
   * (secure headers, CORS): run once on a probe, their fields are put on every hit.
   */
  answerMiddlewares: MiddlewareHandler<AppEnv>[];
  /** CORS is on: an answer depends on the request's Origin, which the probe did not send. */
  cors: boolean;
  /**
   * The app's read limit and its store (the same instance): a hit spends the caller's budget
   * as the rate-limit middleware would and carries its fields; a refused one goes to the app,
   * which answers 429 (a refusal spends nothing, so the app's own check refuses too).
   */
  readLimit: { policy: Policy; store: RateLimitStore } | undefined;
  /** The app authenticates callers its own way (a custom authenticator): it answers everything. */
  appOnly: boolean;
  /** The app's request-id middleware's length limit. */
  requestIdLimit: number;
}

const listRoute = "/api/collections/:name/records";
const viewRoute = "/api/collections/:name/records/:id";
const recordsPath = /^\/api\/collections\/[^/]+\/records(\/[^/]+)?$/;

/**
 * Answers a fresh shared-cache hit from a bare request, without the app: what the shared-cache
 * middleware would answer (the same share decision, sharing predicate, memoised versions, key,
 * freshness and cache fields — the functions it calls, not copies), plus what the app's other
 * middlewares add to such an answer (request id, trace id, Server-Timing, secure headers, CORS
 * fields, the read limit's fields) and its metrics and log line. Synchronous unless the read
 * limit's store is shared (libSQL, with NODE_WORKERS > 1: a promise): with AsyncLocalStorage on,
 * every promise runs async hooks. Returns undefined for anything else — a miss, a stale entry (it needs a background
 * refresh), a version the memo no longer holds fresh, a cache that cannot be read synchronously
 * (Workers), a caller with credentials or a read-your-writes token or an Origin under CORS, HEAD,
 * a refresh request, span export, a read-limit refusal — and the request then goes through the
 * app untouched. Only anonymous callers are answered: their answer is public.
 */
export function sharedCacheHits(options: SharedHitOptions) {
  const { memo, platform, observability } = options;
  const share = shareForPath(options.models);
  const off = !options.enabled || options.appOnly || observability.exporter !== undefined;
  let appHeaders: [string, string][] | undefined;
  let probing = false;

  return Object.assign(sharedCacheHit, {
    /** Never answers (cache off, the app authenticates, span export, no synchronous cache). */
    never: off || platform.cache.peek === undefined,
  });
  function sharedCacheHit(
    req: BareRequest,
  ): BareAnswer | Promise<BareAnswer | undefined> | undefined {
    if (off || req.method !== "GET" || platform.cache.peek === undefined) return undefined;
    if (appHeaders === undefined) {
      // Found on first use (the app is built at global scope on Workers); until then, the app.
      if (!probing) {
        probing = true;
        probe(options.answerMiddlewares).then(
          (h) => {
            appHeaders = h;
          },
          () => {
            probing = false;
          },
        );
      }
      return undefined;
    }
    const header = req.header;
    const path = getPath({ url: req.url } as Request);
    const route = recordsPath.exec(path);
    if (route === null) return undefined;
    const routeName = route[1] === undefined ? listRoute : viewRoute;
    // The caller is anonymous exactly when it presents no credential (the authenticate
    // middleware's own test); a read-your-writes token, an Origin under CORS or the app's own
    // refresh take the app's path.
    if (presentsCredential({ method: req.method, path, header })) return undefined;
    if (header(consistencyHeader) !== undefined) return undefined;
    if (header("cookie")?.includes(consistencyCookie)) return undefined;
    if (header(revalidateHeader) !== undefined) return undefined;
    if (options.cors && header("origin") !== undefined) return undefined;

    const started = performance.now();
    const decision = share(path, (name) => getQueryParam(req.url, name) as string, anonymous);
    if (decision === undefined || !sharing(decision, anonymous).publicAnswer) return undefined;
    // Only versions the memo holds fresh: the app's path asks the database for the others
    // (and memoises them for the next request).
    const versions: number[] = [];
    for (const scope of decision.scopes) {
      const version = memo.peek(scope);
      if (version === undefined) return undefined;
      versions.push(version);
    }
    const key = cacheKey(new URL(req.url), decision.variant, decision.scopes, versions);
    let entry: StoredEntry | undefined;
    try {
      entry = platform.cache.peek(key);
    } catch {
      return undefined;
    }
    const lookupMs = performance.now() - started;
    if (entry === undefined) return undefined;
    const age = (platform.clock.now().getTime() - entry.storedAt) / 1000;
    if (freshness(decision.policy, age) !== "fresh") return undefined;

    const headers = new Fields(entry.headers);
    const status = cacheHeaders(headers, decision, "HIT", Math.floor(age), header("if-none-match"));
    // The probe's Vary is the cache's "Accept-Encoding" with what CORS adds to it.
    for (const [name, value] of appHeaders) headers.set(name, value);
    let requestId = header("x-request-id");
    if (!requestId || requestId.length > options.requestIdLimit || /[^\w\-=]/.test(requestId))
      requestId = crypto.randomUUID();
    headers.set("x-request-id", requestId);
    const trace = traceFromHeaders(header("traceparent"), header("tracestate"));
    headers.set("x-trace-id", trace.traceId);
    const body = status === 304 ? undefined : entry.bytes;
    const limit = options.readLimit;
    if (limit === undefined) return answer();
    // The platform's own client address (socket peer, or X-Forwarded-For behind trusted
    // proxies) from what it reads of a context; `raw` is not there to read (Node never does).
    const ipOf = {
      req: {
        header,
        get raw(): never {
          throw new Error("no Request on the fast path");
        },
      },
      env: req.env,
    };
    const who = budgetKey(anonymous, "read", platform.clientIp(ipOf));
    const now = platform.clock.now().getTime();
    const limited = (decision: Decision) => {
      if (!decision.allowed) return undefined;
      for (const [name, value] of Object.entries(rateLimitFields(limit.policy, decision)))
        headers.set(name, value);
      return answer();
    };
    // In-memory state decides at once. A shared store (libSQL, NODE_WORKERS > 1) writes a row
    // per hit: that goes through the app, under its in-flight limit, not around it.
    if (limit.store.hitNow === undefined) return undefined;
    return limited(limit.store.hitNow(who, limit.policy, now));

    function answer(): BareAnswer {
      const durationMs = performance.now() - started;
      headers.set(
        "server-timing",
        `cache;dur=${lookupMs.toFixed(1)};desc="hit",total;dur=${durationMs.toFixed(1)};desc="Total Response Time"`,
      );
      return { status, headers: headers.record, body, done: () => done(durationMs) };
    }
    function done(durationMs: number) {
      const telemetry = new Telemetry(trace);
      telemetry.cache = "HIT";
      observability.record({
        telemetry,
        route: routeName,
        method: "GET",
        status,
        durationMs,
        requestId: requestId!,
        principalId: undefined,
      });
    }
  }
}

/** `Headers`' get/set/append over a plain record of lower-case names (what node:http writes). */
class Fields implements FieldSet {
  readonly record: Record<string, string> = {};
  constructor(from: readonly [string, string][]) {
    for (const [name, value] of from) this.record[name] = value;
  }
  get(name: string): string | null {
    return this.record[name] ?? null;
  }
  set(name: string, value: string): void {
    this.record[name] = value;
  }
  append(name: string, value: string): void {
    const had = this.record[name];
    this.record[name] = had === undefined ? value : `${had}, ${value}`;
  }
}

export type SharedCacheHit = ReturnType<typeof sharedCacheHits>;

/**
 * The fields `middlewares` add to a bodiless answer that carries the cache's
 * `Vary: Accept-Encoding`, found by running them once in a Hono app of their own.
 */
async function probe(middlewares: MiddlewareHandler<AppEnv>[]): Promise<[string, string][]> {
  const app = new Hono<AppEnv>();
  for (const m of middlewares) app.use(m);
  app.get("*", () => new Response(null, { headers: { vary: "Accept-Encoding" } }));
  const res = await app.request("http://probe.invalid/api/collections/probe/records");
  return [...res.headers];
}
