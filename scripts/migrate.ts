// `npm run db:migrate`: applies pending migrations to DATABASE_URL (default: the Node home's
// embedded file; a Turso libsql:// URL with DATABASE_AUTH_TOKEN for production).
import { migrateDatabase } from "../src/platform/node/migrate";
import { openDatabase } from "./db";

const { client, shown } = openDatabase();
try {
  await migrateDatabase(client);
  console.log(`migrations applied to ${shown}`);
} finally {
  client.close();
}
