// `npm run seed`: deterministic demo data (SEED_USERS, SEED_POSTS) into DATABASE_URL, migrating
// first. Running it twice changes nothing (INSERT OR IGNORE on fixed ids).
import { migrateDatabase, optimizeDatabase } from "../src/platform/node/migrate";
import { openDatabase } from "./db";
import { seed } from "./seed-data";

const { client, shown } = openDatabase();
try {
  await migrateDatabase(client);
  const users = Number(process.env.SEED_USERS ?? 50);
  const posts = Number(process.env.SEED_POSTS ?? 200);
  await seed(client, { users, posts });
  await optimizeDatabase(client);
  console.log(
    `seeded ${users} users' profiles and ${posts} posts (+ comments, bookmarks) into ${shown}`,
  );
} finally {
  client.close();
}
