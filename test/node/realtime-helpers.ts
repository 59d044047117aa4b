import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createApp } from "../../src/app";
import {
  type Change,
  type RealtimeConnection,
  type RealtimeError,
  type RealtimeOptions,
  subscribe,
} from "../../src/client/realtime";
import { collections } from "../../src/collections/index";
import { loadConfig } from "../../src/config";
import { loadAuthConfig } from "../../src/core/accounts/config";
import { revokeAllCredentials } from "../../src/core/accounts/revoke";
import { accessTokenFor, startSession } from "../../src/core/accounts/sessions";
import { createUser } from "../../src/core/accounts/users";
import { randomId } from "../../src/core/kernel/crypto";
import { memorySink } from "../../src/core/kernel/log";
import { recordingMailer } from "../../src/core/mail/mailers";
import { createHub } from "../../src/core/realtime/hub";
import { buildModels } from "../../src/core/records/model";
import { openNodeDatabase } from "../../src/platform/node/database";
import { createNodePlatform } from "../../src/platform/node/platform";
import { answerRefusedUpgrades, nodeRealtime } from "../../src/platform/node/realtime";
import { generousLimits } from "../conformance/home";
import { testKeys } from "../harness";

/** A fresh database file (migrated by the first instance opened on it). */
export function freshDatabase() {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-realtime-"));
  return {
    url: `file:${join(dir, "rt.db")}`,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * One Node home on `url`, served over real HTTP (SSE and WebSockets need a socket): the app,
 * its in-process hub, and ways to act as users. Several instances may share one file.
 */
export async function startInstance(url: string, env: Record<string, string> = {}) {
  const database = await openNodeDatabase({ url });
  const log = memorySink();
  const settings = {
    DATABASE_URL: url,
    ...generousLimits,
    JWT_PRIVATE_KEYS: await testKeys(),
    PASSWORD_ITERATIONS: "10000",
    REALTIME_AUTH_CHECK_SECONDS: "1",
    ...env,
  };
  const config = loadConfig(settings, "node");
  const platform = createNodePlatform(config, {
    database,
    log,
    env: settings,
    mailer: recordingMailer(log),
  });
  const hub = createHub({
    db: platform.sql,
    models: buildModels(collections),
    settings: config.realtime,
    now: () => Date.now(),
    log,
  });
  const realtime = nodeRealtime(hub);
  const app = createApp({ platform, config, collections, realtime });
  const server = serve({
    fetch: answerRefusedUpgrades(app.fetch),
    port: 0,
    hostname: "127.0.0.1",
    websocket: { server: realtime.wss },
  }) as Server;
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = () => loadAuthConfig(platform, config);

  async function signIn() {
    const now = new Date();
    const user = await createUser(
      platform.db,
      { email: `${randomId("usr")}@example.test`, role: "user", emailVerified: true },
      now,
    );
    if (user === undefined) throw new Error("email taken");
    const pair = await startSession(platform.db, await auth(), user, "test", now);
    // The session id, as the token carries it.
    const sid = JSON.parse(Buffer.from(pair.accessToken.split(".")[1]!, "base64url").toString())
      .sid as string;
    return {
      id: user.id,
      sessionId: sid,
      token: pair.accessToken,
      headers: { authorization: `Bearer ${pair.accessToken}` },
      /** A token of this session that expires in `seconds`. */
      shortToken: async (seconds: number) =>
        accessTokenFor({ ...(await auth()), accessTokenTtlSeconds: seconds }, user, sid),
    };
  }

  async function request(path: string, init: RequestInit & { json?: unknown } = {}) {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (json !== undefined) headers.set("content-type", "application/json");
    return fetch(`${base}${path}`, {
      ...rest,
      headers,
      body: json === undefined ? rest.body : JSON.stringify(json),
    });
  }

  return {
    base,
    app,
    hub,
    platform,
    log,
    signIn,
    request,
    revokeAll: (userId: string) =>
      revokeAllCredentials(platform.db, userId, "operator", { now: new Date(), log }),
    async close() {
      await hub.stop();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
      await platform.settle();
      database.close();
    },
  };
}

export type Instance = Awaited<ReturnType<typeof startInstance>>;

/** A realtime client that records what it receives, with waits that need no sleeps. */
export function listen(
  base: string,
  topics: string[],
  options: Partial<RealtimeOptions<Record<string, Record<string, unknown>>>> = {},
) {
  const changes: Change[] = [];
  const closings: string[] = [];
  const errors: RealtimeError[] = [];
  let refetches = 0;
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of waiters) w();
  };
  let opened!: (id: string) => void;
  const open = new Promise<string>((r) => {
    opened = r;
  });
  const conn: RealtimeConnection = subscribe({
    url: base,
    topics,
    minDelayMs: 20,
    maxDelayMs: 200,
    ...options,
    onChange: (c) => {
      changes.push(c as Change);
      poke();
    },
    onOpen: (id) => {
      opened(id);
      poke();
    },
    onClosing: (reason) => {
      closings.push(reason);
      poke();
    },
    onError: (err) => {
      errors.push(err);
      poke();
    },
    onRefetch: () => {
      refetches++;
      poke();
    },
  });
  /** Resolves once `test` holds (checked on every message); the test's timeout bounds it. */
  function until(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (test()) {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
    });
  }
  return {
    conn,
    changes,
    closings,
    errors,
    get refetches() {
      return refetches;
    },
    open,
    until,
    /** Waits for the change of event `recordId`/`action`. */
    got: (recordId: string, action: string) =>
      until(() => changes.some((c) => c.record.id === recordId && c.action === action)),
    has: (recordId: string, action?: string) =>
      changes.some(
        (c) => c.record.id === recordId && (action === undefined || c.action === action),
      ),
    close: () => conn.close(),
  };
}
