import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { generateSigningJwk } from "../../core/accounts/signing-keys";

/**
 * The Node home's signing keys: JWT_PRIVATE_KEYS if set, else a file (default
 * ./data/signing-keys.json, mode 0600) created with a fresh Ed25519 key on first start. The
 * file, not the database, so a leaked database dump cannot mint tokens.
 */
export async function ensureSigningKeys(path: string): Promise<string> {
  if (existsSync(path)) return readFileSync(path, "utf8");
  mkdirSync(dirname(path), { recursive: true });
  const json = JSON.stringify([await generateSigningJwk()], null, 2);
  writeFileSync(path, json, { mode: 0o600 });
  chmodSync(path, 0o600);
  return json;
}

/** Puts a new key first (it signs from now on) and keeps the previous ones for verification. */
export async function rotateSigningKeys(path: string, keep = 3): Promise<string> {
  const current = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as unknown[]) : [];
  const json = JSON.stringify([await generateSigningJwk(), ...current].slice(0, keep), null, 2);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, json, { mode: 0o600 });
  return json;
}
