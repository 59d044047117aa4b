// A development signing key for `wrangler dev`, which reads secrets from .dev.vars (git-ignored).
// scripts/dev.ts calls ensureDevVars() before starting wrangler; `npx tsx scripts/dev-keys.ts`
// does the same on its own.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { generateSigningJwk } from "../src/core/accounts/signing-keys";

/**
 * Makes sure `.dev.vars` holds JWT_PRIVATE_KEYS (a fresh Ed25519 key) and NEARBASE_DEV=true
 * (the dev mailer then logs message bodies, so a developer can follow reset/verify links).
 * Creates the file with mode 0600 when missing; adds only what an existing file lacks, and never
 * replaces a key (tokens signed with it keep working across restarts).
 */
export async function ensureDevVars(path = ".dev.vars"): Promise<void> {
  const file = resolve(path);
  const current = existsSync(file) ? readFileSync(file, "utf8") : undefined;
  const has = (name: string) => current !== undefined && new RegExp(`^${name}=`, "m").test(current);
  const lines: string[] = [];
  if (!has("JWT_PRIVATE_KEYS"))
    lines.push(`JWT_PRIVATE_KEYS='${JSON.stringify([await generateSigningJwk()])}'`);
  if (!has("NEARBASE_DEV")) lines.push("NEARBASE_DEV=true");
  if (lines.length === 0) return;
  if (current === undefined) {
    writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
  } else {
    appendFileSync(
      file,
      `${current.endsWith("\n") || current === "" ? "" : "\n"}${lines.join("\n")}\n`,
    );
  }
  console.log(`${path}: added ${lines.map((l) => l.split("=")[0]).join(", ")} for wrangler dev`);
}

if (import.meta.url === `file://${process.argv[1]}`) await ensureDevVars();
