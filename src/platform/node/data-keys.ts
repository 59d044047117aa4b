import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type DataKey, generateDataKey, parseDataKeys } from "../../core/kernel/seal";

/**
 * The Node home's data-encryption keys (encrypted collection fields, TOTP secrets):
 * DATA_ENCRYPTION_KEYS if set, else a file (default ./data/data-keys.json, mode 0600) created
 * with a fresh key on first start. A file, not the database, so a leaked dump cannot decrypt.
 */
export function ensureDataKeys(path: string): string {
  if (existsSync(path)) return readFileSync(path, "utf8");
  return writeKeys(path, [generateDataKey()]);
}

/**
 * Puts a new key first (it seals from now on) and keeps every older one: values sealed with them
 * must stay readable until `npm run keys:rotate-data` has re-sealed them (then `--drop` retires them).
 */
export function addDataKey(path: string): { json: string; keys: DataKey[] } {
  const current = existsSync(path) ? parseDataKeys(readFileSync(path, "utf8")) : [];
  const keys = [generateDataKey(), ...current];
  return { json: writeKeys(path, keys), keys };
}

/** Keeps only the newest key (after a finished re-encryption). */
export function dropOldDataKeys(path: string): DataKey[] {
  const keys = parseDataKeys(readFileSync(path, "utf8"));
  writeKeys(path, keys.slice(0, 1));
  return keys.slice(1);
}

function writeKeys(path: string, keys: DataKey[]): string {
  mkdirSync(dirname(path), { recursive: true });
  const json = JSON.stringify(keys, null, 2);
  writeFileSync(path, json, { mode: 0o600 });
  chmodSync(path, 0o600);
  return json;
}
