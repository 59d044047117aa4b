import { expect } from "vitest";
import { collections } from "../../src/collections/index";
import { buildModels } from "../../src/core/records/model";
import { apiDocument } from "../../src/http/openapi";
import { type Contract, createContract } from "./contract";
/**
 * The one surface a conformance suite sees: a Nearbase app in one of its homes, reached over
 * HTTP, on a real libSQL database. `node-home.ts` serves it in-process on an embedded file;
 * `workers-home.ts` runs the real worker in workerd against the local libSQL HTTP server. A
 * suite must hold in both, so it seeds its own uniquely named data and never assumes an empty
 * table (the workers home shares one database across test files).
 */
export interface Home {
  /** Which home answers ("node" or "workers"), for the few answers that name it. */
  readonly name: "node" | "workers";
  /** Sends a request to the app; a `json` value is sent as a JSON body. */
  request(path: string, init?: HomeRequestInit): Promise<Response>;
  /** A fresh account of that role, signed in for real (a user row, a session, a signed token). */
  signIn(role?: "user" | "admin"): Promise<SignedIn>;
  /** Raw SQL on the app's primary database (seeding canaries, checking what was written). */
  sql(statement: string, args?: SqlValue[]): Promise<Record<string, unknown>[]>;
  /** Waits for the work the app deferred after its responses (cache fills, span exports). */
  settle(): Promise<void>;
  /** Mail the app sent to `to` (as the app normalised it), oldest first, once settled. */
  mail(to: string): Promise<SentMail[]>;
  /** What the app logged since this home was made, at every level, oldest first, once settled. */
  logs(): Promise<Record<string, unknown>[]>;
  /** A secret as the app reads it (e.g. JWT_PRIVATE_KEYS, to sign with the app's own key). */
  secret(name: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export type HomeRequestInit = RequestInit & {
  json?: unknown;
  /**
   * The client address the request comes from, as the home's edge reports it: CF-Connecting-IP
   * in workerd; X-Forwarded-For from a trusted proxy in Node (make the home with
   * `clientAddresses: true`).
   */
  from?: string;
};
export type SqlValue = string | number | bigint | null;

export interface SignedIn {
  id: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  headers: Record<string, string>;
}

export interface SentMail {
  to: string;
  subject: string;
  text: string;
}

export interface HomeOptions {
  /** Settings as they would come from the environment or the Worker's bindings. */
  env?: Record<string, string>;
  /** Requests may say where they come from (`from`): the Node home then trusts one proxy hop. */
  clientAddresses?: boolean;
}

/** Makes a fresh home; a suite calls it in `beforeAll` (or per test) and closes what it made. */
export type MakeHome = (options?: HomeOptions) => Promise<Home>;

let contract: Contract | undefined;
/**
 * The contract both homes are held to: the document the app serves at /openapi.json, built here
 * by the same function from the same collections (fetching it through the home would add a
 * request to every suite's metrics). The contract suite checks that the served one is this one.
 */
export function appContract(): Contract {
  contract ??= createContract(apiDocument(buildModels(collections)));
  return contract;
}

/**
 * A home whose every response is checked against the app's /openapi.json (see contract.ts)
 * before the suite sees it: a response that breaks the document — or comes from a route it does
 * not describe — fails the request with a ContractError saying what to document. `close()`
 * prints how many responses this home checked (`contract: N responses validated`; a run's
 * total is the sum of these lines).
 */
export function withContract(make: MakeHome): MakeHome {
  return async (options) => {
    const home = await make(options);
    const checker = appContract();
    let validated = 0;
    return {
      ...home,
      async request(path, init = {}) {
        const res = await home.request(path, init);
        const headers = new Headers(init.headers);
        const method = init.method ?? "GET";
        await checker.check(
          {
            method,
            path,
            preflight: method === "OPTIONS" && headers.has("access-control-request-method"),
          },
          res,
        );
        validated++;
        return res;
      },
      async close() {
        await home.close();
        console.log(`contract: ${validated} responses validated (${home.name} home)`);
      },
    };
  };
}

/**
 * Settings both homes' test apps run with: limits generous enough that a suite is not throttled
 * by its own traffic (rate-limit tests set theirs).
 */
export const generousLimits: Record<string, string> = {
  RATE_LIMIT_READ: "100000/60s",
  RATE_LIMIT_WRITE: "100000/60s",
  RATE_LIMIT_AUTH: "100000/60s",
  LOGIN_LIMIT_PER_ACCOUNT: "1000/1m",
  LOGIN_LIMIT_PER_ACCOUNT_TOTAL: "1000/1m",
  CREDENTIAL_FAILURE_LIMIT: "100000/60s",
  FORGOT_LIMIT_PER_ACCOUNT: "1000/1m",
};

/**
 * Settings both homes' test apps run with on top of `generousLimits`: the cheapest password
 * hashing the config accepts, as a suite signs up many accounts through the API (a test that
 * is about the cost sets its own).
 */
export const homeSettings: Record<string, string> = { PASSWORD_ITERATIONS: "10000" };

/** A client address no other test will use (TEST-NET-2 and the benchmarking block). */
export function uniqueAddress(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `198.${18 + (a! % 2)}.${b}.${(c! % 254) + 1}`;
}

/** A name no other test (in any file, in either home) will use. */
export function unique(prefix = "t"): string {
  return `${prefix}${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Anything that sends requests like a home (a Home, or the Node harness's TestApp). */
interface Requester {
  request(
    path: string,
    init: { method: string; headers: Record<string, string>; json: unknown },
  ): Promise<Response>;
}

/** Creates a published post as `headers`' account; returns the response and the new id. */
export async function publishPost(t: Requester, headers: Record<string, string>, title: string) {
  const res = await t.request("/api/collections/posts/records", {
    method: "POST",
    headers,
    json: { title, status: "published" },
  });
  expect(res.status).toBe(201);
  return { res, id: ((await res.json()) as { id: string }).id };
}

/** Encodes a string for a query parameter. */
export const q = encodeURIComponent;

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
}

/** Reads a problem+json body and checks its media type, so a test can assert on `code`. */
export async function readProblem(res: Response): Promise<Problem> {
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("application/problem+json")) {
    throw new Error(
      `expected application/problem+json, got ${type} (${res.status}): ${await res.text()}`,
    );
  }
  return (await res.json()) as Problem;
}
