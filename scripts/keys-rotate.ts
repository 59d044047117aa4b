// `npm run keys:rotate`: a new Ed25519 signing key for the Node home (./data/signing-keys.json or
// SIGNING_KEYS_FILE); the old ones keep verifying until they drop off (3 kept). Restart to use it.
// `npm run keys:rotate -- --print`: print a fresh key set to store as the Workers secret:
//   npm run keys:rotate -- --print | npx wrangler secret put JWT_PRIVATE_KEYS
import { generateSigningJwk } from "../src/core/accounts/signing-keys";
import { rotateSigningKeys } from "../src/platform/node/signing-keys";

if (process.argv.includes("--print")) {
  process.stdout.write(JSON.stringify([await generateSigningJwk()]));
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
