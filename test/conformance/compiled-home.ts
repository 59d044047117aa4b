import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { loadConfig } from "../../src/config";
import { loadAuthConfig } from "../../src/core/accounts/config";
import { startSession } from "../../src/core/accounts/sessions";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { createUser } from "../../src/core/accounts/users";
import { createDatabase } from "../../src/core/db/client";
import { randomId } from "../../src/core/kernel/crypto";
import { answering, collectOutput, freePort } from "../processes";
import {
  generousLimits,
  type Home,
  homeSettings,
  type MakeHome,
  type SqlValue,
  withContract,
} from "./home";

/**
 * The production build of the Node home (`npm run build` → `node dist/server.js`), as a real
 * process on a real socket and an embedded file: what the Dockerfile and docs/operations.md run.
 * Built once per test file (`buildOnce`); each home is a fresh process and database.
 */
let built: Promise<void> | undefined;
export function buildOnce(): Promise<void> {
  built ??= promisify(execFile)(process.execPath, ["--import", "tsx", "scripts/build.ts"]).then(
    () => undefined,
  );
  return built;
}

export const makeCompiledHome: MakeHome = withContract(async (options = {}) => {
  await buildOnce();
  const dir = mkdtempSync(join(tmpdir(), "nearbase-compiled-"));
  const port = await freePort();
  const jwk = await generateSigningJwk();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    ...generousLimits,
    ...homeSettings,
    DATABASE_URL: `file:${join(dir, "nearbase.db")}`,
    DATA_KEYS_FILE: join(dir, "data-keys.json"),
    JWT_PRIVATE_KEYS: JSON.stringify([jwk]),
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "debug",
    ...options.env,
  };
  const child: ChildProcess = spawn(process.execPath, ["dist/server.js"], {
    env: env as unknown as NodeJS.ProcessEnv,
  });
  const output = collectOutput(child);
  const base = `http://127.0.0.1:${port}`;
  await answering(child, `${base}/health`, output);
  // The server holds the file's write lock while it commits: wait for it (as the server's own
  // connections do) instead of failing with SQLITE_BUSY.
  const client = createClient({ url: env.DATABASE_URL!, timeout: 5000 });
  const db = createDatabase(client);
  // Accounts are made as the other homes make them (createUser + startSession), signed with the
  // key the server loads.
  const auth = await loadAuthConfig(
    { secrets: { get: async (name: string) => env[name] } },
    loadConfig(env, "node"),
  );

  const home: Home = {
    name: "node",
    async request(path, init = {}) {
      const { json, from, ...rest } = init;
      const headers = new Headers(rest.headers);
      let body = rest.body;
      if (json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(json);
      }
      if (from !== undefined) headers.set("x-forwarded-for", from);
      const url = new URL(path, base);
      return fetch(new URL(url.pathname + url.search, base), { ...rest, headers, body });
    },
    async signIn(role = "user") {
      const now = new Date();
      const user = await createUser(
        db,
        { email: `${randomId("usr")}@example.test`, role, emailVerified: true },
        now,
      );
      if (user === undefined) throw new Error("signIn: the random email was taken");
      const pair = await startSession(db, auth, user, "test", now);
      return {
        id: user.id,
        email: user.email,
        accessToken: pair.accessToken,
        refreshToken: pair.refreshToken,
        headers: { authorization: `Bearer ${pair.accessToken}` },
      };
    },
    async sql(statement: string, args: SqlValue[] = []) {
      const rs = await client.execute({ sql: statement, args });
      return rs.rows.map((row) => ({ ...row }));
    },
    // Deferred work runs in the server process: give it a moment (no handle on it from here).
    settle: () => new Promise((r) => setTimeout(r, 100)),
    async mail() {
      throw new Error("the compiled home keeps no mail a test could read");
    },
    async logs() {
      return output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    secret: async (name) => env[name],
    async close() {
      client.close();
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return home;
});
