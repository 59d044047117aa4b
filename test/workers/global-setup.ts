import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import type { TestProject } from "vitest/node";
import { generateSigningJwk } from "../../src/core/accounts/signing-keys";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { startLibsqlServer } from "../../tools/libsql-server/server";
import { startReceiver } from "../node/webhook-receiver";

declare module "vitest" {
  export interface ProvidedContext {
    libsqlUrl: string;
    jwtKeys: string;
    /** A webhook receiver on loopback (GET /__received?path=… lists what arrived). */
    webhookReceiverUrl: string;
  }
}

/**
 * Starts the local libSQL HTTP server on a fresh, migrated database file, as Turso would be in
 * production, and hands its URL to the worker under test.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-workers-"));
  const server = await startLibsqlServer({ path: join(dir, "workers.db") });
  const client = createClient({ url: server.url });
  await migrateDatabase(client);
  client.close();
  project.provide("libsqlUrl", server.url);
  project.provide("jwtKeys", JSON.stringify([await generateSigningJwk()]));
  const receiver = await startReceiver();
  project.provide("webhookReceiverUrl", receiver.url(""));
  return async () => {
    await receiver.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
