import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createClient } from "@libsql/client/web";
import { inject } from "vitest";
import { loadConfig } from "../../src/config";
import { loadAuthConfig } from "../../src/core/accounts/config";
import { startSession } from "../../src/core/accounts/sessions";
import { createUser } from "../../src/core/accounts/users";
import { randomId } from "../../src/core/kernel/crypto";
import worker from "../../src/platform/workers/main";
import { createWorkersPlatform } from "../../src/platform/workers/platform";
import {
  generousLimits,
  type Home,
  homeSettings,
  type MakeHome,
  type SentMail,
  type SqlValue,
  uniqueAddress,
  withContract,
} from "./home";

/**
 * The Workers home: the real worker (src/platform/workers/main.ts) in workerd, reaching the
 * local libSQL HTTP server the global setup started, as it would reach Turso.
 *
 * Requests go to the worker's own `fetch` handler with this home's bindings (the project's
 * bindings plus the test settings, like the Node harness's) and an ExecutionContext per request,
 * so `settle()` can wait for what the worker handed to `waitUntil` instead of sleeping. The
 * worker builds its app once per bindings object, so each home gets an app of its own (fresh
 * metrics, memory rate limits, version memo); the Cache API and the database are shared by all.
 */
export const makeWorkersHome: MakeHome = withContract(async (options = {}) => {
  captureWorkerLog();
  const logFrom = logged.length;
  // Other test files write to the same database meanwhile; a long version memo keeps their
  // writes from expiring this home's cache entries between a fill and the HIT a test expects,
  // as nothing else writes to a Node home's database. This home's own writes still move its
  // versions at once (one database, fresh reads); cross-location staleness is tested in
  // test/workers/edge.test.ts with the real memo.
  // Mail goes to the loopback mail provider the global setup started, into a box of this
  // home's own (workerd keeps no mail a test could read: its development mailer only logs).
  const mailbox = `${inject("loopbackFakesUrl")}/mail/${crypto.randomUUID()}`;
  const bindings = {
    ...env,
    ...generousLimits,
    ...homeSettings,
    CACHE_VERSION_MEMO_MS: "60000",
    // Every level, as the Node harness's memory sink keeps (see captureWorkerLog).
    LOG_LEVEL: "debug",
    MAIL_API_URL: mailbox,
    MAIL_API_KEY: "conformance-mail-key",
    ...options.env,
  } as Env;
  // One address per home: anonymous budgets are per home, as each Node test app has its own.
  const address = uniqueAddress();
  const pending = new Set<ExecutionContext>();
  const sql = createClient({ url: env.DATABASE_URL });

  // Accounts are made the way the Node harness makes them: the app's own createUser and
  // startSession, with the same signing keys the worker loads.
  const config = loadConfig(bindings as unknown as Record<string, unknown>, "workers");
  const platform = createWorkersPlatform(config, bindings);
  const auth = loadAuthConfig(platform, config);

  const home: Home = {
    name: "workers",
    async request(path, init = {}) {
      const { json, from, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (from !== undefined) headers.set("cf-connecting-ip", from);
      let body = rest.body;
      if (json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(json);
      }
      if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", address);
      // A path, or a whole URL (a request naming another host, as Node's app.request takes).
      const request = new Request(new URL(path, "https://nearbase.test"), {
        ...rest,
        headers,
        body,
      });
      const ctx = createExecutionContext();
      pending.add(ctx);
      return worker.fetch(request as Parameters<typeof worker.fetch>[0], bindings, ctx);
    },
    async signIn(role = "user") {
      const now = new Date();
      const user = await createUser(
        platform.db,
        { email: `${randomId("usr")}@example.test`, role, emailVerified: true },
        now,
      );
      if (user === undefined) throw new Error("signIn: the random email was taken");
      const pair = await startSession(platform.db, await auth, user, "test", now);
      return {
        id: user.id,
        email: user.email,
        accessToken: pair.accessToken,
        refreshToken: pair.refreshToken,
        headers: { authorization: `Bearer ${pair.accessToken}` },
      };
    },
    async sql(statement: string, args: SqlValue[] = []) {
      const rs = await sql.execute({ sql: statement, args });
      return rs.rows.map((row) => ({ ...row }));
    },
    async settle() {
      const waiting = [...pending];
      pending.clear();
      await Promise.all(waiting.map((ctx) => waitOnExecutionContext(ctx)));
    },
    async mail(to) {
      await home.settle();
      const sent = (await (await fetch(mailbox)).json()) as SentMail[];
      return sent
        .filter((m) => m.to === to)
        .map(({ to, subject, text }) => ({ to, subject, text }));
    },
    async logs() {
      await home.settle();
      return logged.slice(logFrom);
    },
    secret: (name) => platform.secrets.get(name),
    async close() {
      await home.settle();
      sql.close();
      platform.sql.close();
    },
  };
  return home;
});

// The worker logs JSON lines through console.log (Workers Logs), in this isolate: the home keeps
// them for `logs()`, and passes on only warnings and errors, as the project's LOG_LEVEL does.
// Homes made in one test file share the record; each reads from where it started.
const logged: Record<string, unknown>[] = [];
let capturing = false;
function captureWorkerLog() {
  if (capturing) return;
  capturing = true;
  const original = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    const [line] = args;
    if (args.length === 1 && typeof line === "string" && line.startsWith("{")) {
      let event: Record<string, unknown> | undefined;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // Not a log line: printed as is.
      }
      if (typeof event?.level === "string" && typeof event.msg === "string") {
        logged.push(event);
        if (event.level !== "warn" && event.level !== "error") return;
      }
    }
    original(...args);
  };
}
