import { collections } from "../../src/collections/index";
import { KeySet } from "../../src/core/accounts/signing-keys";
import { parseDataKeys } from "../../src/core/kernel/seal";

/*
 * The Worker's secrets, in one list for `npm run secrets:setup` (which makes or asks for them)
 * and `npm run deploy` (which checks them, then uploads them with `wrangler secret bulk`).
 * Plain settings stay in wrangler.toml [vars]; a name must never be both (they collide).
 */

export type Secrets = Record<string, string | undefined>;

export interface SecretSpec {
  name: string;
  /** Why it exists, shown when it is missing. */
  doc: string;
  /** Whether a deploy is refused without it (given the other values). */
  required: (all: Secrets) => boolean;
  /** A problem with the value, or undefined when it is usable. Never echoes the value. */
  check?: (value: string) => Promise<string | undefined> | string | undefined;
  /** Made by `secrets:setup` when absent (random keys); otherwise it is asked for. */
  generate?: () => Promise<string>;
}

const randomHex = (bytes: number) =>
  Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");

/** Whether any collection declares encrypted fields (their values cannot be written without keys). */
const hasEncryptedFields = collections.some((c) => (c.options.encrypted ?? []).length > 0);

export const secretSpecs: SecretSpec[] = [
  {
    name: "DATABASE_URL",
    doc: "the Turso database: libsql://<db>-<org>.turso.io (`turso db show <db> --url`)",
    required: () => true,
    check: (v) =>
      /^(libsql|https?):\/\/[^\s/]+/.test(v)
        ? undefined
        : "must be a libsql://, https:// or http:// URL (the Worker reaches libSQL over HTTP)",
  },
  {
    name: "DATABASE_AUTH_TOKEN",
    doc: "a token for that database (`turso db tokens create <db>`)",
    required: (all) => /\.turso\.io(?::\d+)?(?:\/|$)/.test(all.DATABASE_URL ?? ""),
  },
  {
    name: "JWT_PRIVATE_KEYS",
    doc: "the token signing keys (`npm run --silent keys:rotate -- --print`)",
    required: () => true,
    check: async (v) =>
      KeySet.fromJson(v).then(
        () => undefined,
        (err: unknown) =>
          `is not a usable key set (${err instanceof Error ? err.message : String(err)})`,
      ),
    generate: async () => {
      const { generateSigningJwk } = await import("../../src/core/accounts/signing-keys");
      return JSON.stringify([await generateSigningJwk()]);
    },
  },
  {
    name: "WEBHOOK_SECRET_KEY",
    doc: "encrypts webhook signing secrets at rest (without it no webhook endpoint can be created)",
    required: () => false,
    check: (v) => (v.length >= 32 ? undefined : "must be at least 32 characters"),
    generate: async () => randomHex(32),
  },
  {
    name: "DATA_ENCRYPTION_KEYS",
    doc: "keys for encrypted fields and TOTP secrets (JSON array of {kid, key})",
    required: () => hasEncryptedFields,
    check: (v) => {
      try {
        parseDataKeys(v);
        return undefined;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    },
    generate: async () => {
      const { generateDataKey } = await import("../../src/core/kernel/seal");
      return JSON.stringify([generateDataKey()]);
    },
  },
  {
    name: "METRICS_TOKEN",
    doc: "bearer token for Prometheus scrapes of /metrics",
    required: () => false,
    check: (v) => (v.length >= 16 ? undefined : "must be at least 16 characters"),
  },
  {
    name: "MAIL_API_KEY",
    doc: "the mail provider's API key (with MAIL_API_URL in [vars])",
    required: () => false,
  },
  ...["GITHUB", "GOOGLE", "OIDC"].map((p) => ({
    name: `OAUTH_${p}_CLIENT_SECRET`,
    doc: `OAuth client secret (its client id goes in [vars] as OAUTH_${p}_CLIENT_ID)`,
    required: () => false,
  })),
];

/** What is missing or unusable, one line each, naming the secret and how to make it. */
export async function secretProblems(values: Secrets): Promise<string[]> {
  const problems: string[] = [];
  for (const spec of secretSpecs) {
    const value = values[spec.name];
    if (value === undefined || value === "") {
      if (spec.required(values)) problems.push(`${spec.name} is missing: ${spec.doc}`);
      continue;
    }
    const problem = await spec.check?.(value);
    if (problem !== undefined) problems.push(`${spec.name} ${problem}`);
  }
  return problems;
}

/** The secrets present in `values`, to upload as they are. */
export function presentSecrets(values: Secrets): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of secretSpecs) {
    const value = values[spec.name];
    if (value !== undefined && value !== "") out[spec.name] = value;
  }
  return out;
}
