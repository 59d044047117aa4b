import { defineConfig } from "drizzle-kit";

// Generates SQL migrations from the engine's system tables and the app's collections.
// `npm run db:generate` writes them to migrations/; never edit one that has been applied.
export default defineConfig({
  dialect: "turso",
  schema: ["./src/core/db/schema/*.ts", "./src/collections/*.ts"],
  out: "./migrations",
  casing: "snake_case",
  dbCredentials: {
    url: process.env.DATABASE_URL ?? "file:./data/nearbase.db",
    authToken: process.env.DATABASE_AUTH_TOKEN,
  },
});
