// `npm run admin:create -- --email you@example.com` (password from NEARBASE_ADMIN_PASSWORD or a
// prompt-free generated one, printed once). Creates the account, or promotes an existing one.
import { parseArgs } from "node:util";
import { isPlainText, parseEmail } from "../src/core/accounts/identifiers";
import { hashPassword, passwordProblem } from "../src/core/accounts/passwords";
import { createUser, makeAdmin, userByEmail } from "../src/core/accounts/users";
import { createDatabase } from "../src/core/db/client";
import { randomToken } from "../src/core/kernel/crypto";
import { migrateDatabase } from "../src/platform/node/migrate";
import { openDatabase } from "./db";

const { values } = parseArgs({
  options: { email: { type: "string" }, name: { type: "string", default: "Admin" } },
});
if (!values.email) {
  console.error(
    "usage: npm run admin:create -- --email you@example.com   (NEARBASE_ADMIN_PASSWORD=… to choose the password)",
  );
  process.exit(2);
}
// The same email rules as sign-up: a NUL or control character never reaches the database.
const email = parseEmail(values.email);
if (email === undefined) {
  console.error(`not an email address: ${JSON.stringify(values.email)}`);
  process.exit(2);
}
if (!isPlainText(values.name ?? "")) {
  console.error("--name must not contain control characters");
  process.exit(2);
}
const generated = process.env.NEARBASE_ADMIN_PASSWORD ? undefined : randomToken(18);
const password = process.env.NEARBASE_ADMIN_PASSWORD ?? generated!;
const problem = passwordProblem(password, email);
if (problem) {
  console.error(`password ${problem}`);
  process.exit(2);
}
const { client } = openDatabase();
try {
  await migrateDatabase(client);
  const db = createDatabase(client);
  const now = new Date();
  const existing = await userByEmail(db, email);
  if (existing) {
    await makeAdmin(db, existing.id, now);
    console.log(`${email} is now an admin (password unchanged)`);
  } else {
    const passwordHash = await hashPassword(password);
    const created = await createUser(
      db,
      { email, name: values.name ?? "Admin", role: "admin", passwordHash, emailVerified: true },
      now,
    );
    if (created === undefined) throw new Error(`${email} was registered meanwhile; run again`);
    console.log(
      `created admin ${email}${generated ? ` with password ${generated} (shown once; change it after signing in)` : ""}`,
    );
  }
} finally {
  client.close();
}
