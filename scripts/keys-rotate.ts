// `npm run keys:rotate`: a new Ed25519 signing key for the Node home (./data/signing-keys.json or
// SIGNING_KEYS_FILE); the old ones keep verifying until they drop off (3 kept). Restart to use it.
// `npm run --silent keys:rotate -- --print`: print a fresh key set to store as the Workers secret:
//   npm run --silent keys:rotate -- --print | npx wrangler secret put JWT_PRIVATE_KEYS
// `… --print --from current.json`: the new key first, then the current set's keys (3 kept), so
// tokens signed before the rotation keep verifying until they expire (docs/operations.md).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { generateSigningJwk, KeySet } from "../src/core/accounts/signing-keys";
import { rotateSigningKeys } from "../src/platform/node/signing-keys";

const { values } = parseArgs({
  options: { print: { type: "boolean" }, from: { type: "string" } },
  strict: true,
});

if (values.print) {
  let current: unknown[] = [];
  if (values.from !== undefined) {
    const text = readFileSync(values.from, "utf8");
    // Refuse what the app would refuse, before it becomes the secret.
    await KeySet.fromJson(text).catch((err: unknown) => {
      console.error(
        `${values.from}: not a usable key set (${err instanceof Error ? err.message : err})`,
      );
      process.exit(1);
    });
    current = JSON.parse(text) as unknown[];
  }
  process.stdout.write(JSON.stringify([await generateSigningJwk(), ...current].slice(0, 3)));
} else if (values.from !== undefined) {
  console.error("--from goes with --print (the Node home rotates its own file)");
  process.exit(2);
} else {
  const path = process.env.SIGNING_KEYS_FILE ?? "./data/signing-keys.json";
  const json = JSON.parse(await rotateSigningKeys(path)) as { kid: string }[];
  console.log(
    `${path}: signing with ${json[0]?.kid}; still verifying ${
      json
        .slice(1)
        .map((k) => k.kid)
        .join(", ") || "nothing else"
    }`,
  );
}
