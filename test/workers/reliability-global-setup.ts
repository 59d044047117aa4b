import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import type { TestProject } from "vitest/node";
import { migrateDatabase } from "../../src/platform/node/migrate";
import { startFaultProxy } from "../../tools/libsql-server/faults";
import { startLibsqlServer } from "../../tools/libsql-server/server";

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated libSQL server behind a fault-injecting proxy (test/workers/reliability*.test.ts). */
    faultyLibsqlUrl: string;
    /** POST a Fault ({"mode":"hang"} …) here to change what the proxy does. */
    faultControlUrl: string;
    /** The libSQL server behind the proxy, reached directly (to check what was written). */
    faultyLibsqlDirectUrl: string;
  }
}

/** A libSQL server of its own behind the fault proxy, so faults reach no other suite. */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-reliability-"));
  const server = await startLibsqlServer({ path: join(dir, "faulty.db") });
  const client = createClient({ url: server.url });
  await migrateDatabase(client);
  client.close();
  const proxy = await startFaultProxy({ target: server.url, controlPort: 0 });
  project.provide("faultyLibsqlUrl", proxy.url);
  project.provide("faultControlUrl", proxy.controlUrl ?? "");
  project.provide("faultyLibsqlDirectUrl", server.url);
  return async () => {
    await proxy.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
