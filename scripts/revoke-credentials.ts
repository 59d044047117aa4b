// `npm run user:revoke -- --email someone@example.com`: signs an account out everywhere — every
// session (refresh-token family), API key and pending sign-in code — as /api/auth/logout-all
// does. For an operator answering "my account was compromised". Access tokens already issued
// expire on their own (ACCESS_TOKEN_TTL_SECONDS).
import { parseArgs } from "node:util";
import { parseEmail } from "../src/core/accounts/identifiers";
import { revokeAllCredentials } from "../src/core/accounts/revoke";
import { userByEmail } from "../src/core/accounts/users";
import { createDatabase } from "../src/core/db/client";
import { openDatabase } from "./db";

const { values } = parseArgs({ options: { email: { type: "string" } } });
const email = values.email === undefined ? undefined : parseEmail(values.email);
if (email === undefined) {
  console.error("usage: npm run user:revoke -- --email someone@example.com");
  process.exit(2);
}
const { client, shown } = openDatabase();
try {
  const db = createDatabase(client);
  const user = await userByEmail(db, email);
  if (user === undefined) {
    console.error(`no account for ${email} in ${shown}`);
    process.exitCode = 1;
  } else {
    await revokeAllCredentials(db, user.id, "operator", { now: new Date() });
    console.log(`revoked every session, API key and sign-in code of ${email}`);
  }
} finally {
  client.close();
}
