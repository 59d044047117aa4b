import { type Client, createClient } from "@libsql/client";
import { embeddedReader } from "./embedded-reader";
import { migrateDatabase } from "./migrate";

export interface NodeDatabaseOptions {
  /** DATABASE_URL: an embedded file, or the nearest copy (a read replica when `primaryUrl` is set). */
  url: string;
  /** DATABASE_PRIMARY_URL: where writes go when `url` is a replica. */
  primaryUrl?: string | undefined;
  authToken?: string | undefined;
  /** Read connections on an embedded file. */
  readConnections?: number;
  /** How long one read on an embedded file may run before it is interrupted. */
  readBudgetMs?: number;
}

export interface NodeDatabase {
  /** The primary: every write. */
  client: Client;
  /** Where reads go. */
  replica: Client;
  /** Reads see every committed write at once (no replication lag). */
  freshReads: boolean;
  close(): void;
}

export const defaultReadBudgetMs = 1000;

/**
 * Opens the Node home's database, migrated. On an embedded file the engine would run every
 * statement on the event loop, so reads go to read connections that run off it under a time
 * budget (see `embeddedReader`), in WAL mode so they read beside the writer. With a replica URL,
 * reads go there and may lag.
 */
export async function openNodeDatabase(options: NodeDatabaseOptions): Promise<NodeDatabase> {
  const nearest = createClient({ url: options.url, authToken: options.authToken });
  const client =
    options.primaryUrl === undefined
      ? nearest
      : createClient({ url: options.primaryUrl, authToken: options.authToken });
  await migrateDatabase(client);
  const path = embeddedPath(options.primaryUrl === undefined ? options.url : undefined);
  if (path === undefined) {
    return {
      client,
      replica: nearest,
      freshReads: nearest === client,
      close() {
        client.close();
        if (nearest !== client) nearest.close();
      },
    };
  }
  await client.execute("PRAGMA journal_mode = WAL");
  const replica = embeddedReader({
    path,
    connections: options.readConnections ?? 4,
    budgetMs: options.readBudgetMs ?? defaultReadBudgetMs,
  });
  return {
    client,
    replica,
    freshReads: true,
    close() {
      replica.close();
      client.close();
    },
  };
}

/** The file behind a `file:` URL (not an in-memory database, which other connections cannot share). */
function embeddedPath(url: string | undefined): string | undefined {
  if (url === undefined || !url.startsWith("file:") || url.includes(":memory:")) return undefined;
  const path = url.slice("file:".length).split("?")[0]!;
  return path === "" ? undefined : path;
}
