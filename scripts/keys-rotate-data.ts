// `npm run keys:rotate-data`: data-encryption key rotation for encrypted collection fields, in
// three steps, every value readable throughout (docs: README "Privacy"):
//  1. `-- --new-key`: Node home — a new key goes first in DATA_KEYS_FILE (./data/data-keys.json),
//     older keys stay; restart so the server seals with it. Workers — `-- --new-key --print
//     [--from current.json]` prints the new set (new key first, then the current ones) for
//     `npm run --silent keys:rotate-data -- --new-key --print --from cur.json | npx wrangler secret put DATA_ENCRYPTION_KEYS`.
//  2. (no flags): re-seals every value not under the newest key — older keys, and plain text
//     stored before a field was declared encrypted — in batches, each batch one transaction,
//     compare-and-set per value. Stop it any time; run it again to finish (`--max-batches N`
//     stops on purpose). Keys come from DATA_ENCRYPTION_KEYS, else DATA_KEYS_FILE.
//  3. `-- --drop-old`: once nothing is left to re-seal, keeps only the newest key in the file
//     (refused while values still need an older key).
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { collections } from "../src/collections/index";
import { generateDataKey, parseDataKeys, Sealer } from "../src/core/kernel/seal";
import { reencrypt, rotationBacklog } from "../src/core/privacy/rotate";
import { buildModels } from "../src/core/records/model";
import { addDataKey, dropOldDataKeys } from "../src/platform/node/data-keys";
import { openDatabase } from "./db";

const { values } = parseArgs({
  options: {
    "new-key": { type: "boolean" },
    print: { type: "boolean" },
    from: { type: "string" },
    "drop-old": { type: "boolean" },
    "batch-size": { type: "string" },
    "max-batches": { type: "string" },
  },
  strict: true,
});

const file = process.env.DATA_KEYS_FILE ?? "./data/data-keys.json";
const kids = (keys: { kid: string }[]) => keys.map((k) => k.kid).join(", ");

function fail(message: string, code = 1): never {
  console.error(message);
  process.exit(code);
}

function currentKeys(): string {
  const json =
    process.env.DATA_ENCRYPTION_KEYS || (existsSync(file) ? readFileSync(file, "utf8") : "");
  if (json === "")
    fail(`no data keys: set DATA_ENCRYPTION_KEYS or create ${file} (start the server once)`);
  return json;
}

if (values["new-key"]) {
  if (values.print) {
    const current =
      values.from === undefined ? [] : parseDataKeys(readFileSync(values.from, "utf8"));
    process.stdout.write(JSON.stringify([generateDataKey(), ...current]));
  } else {
    if (process.env.DATA_ENCRYPTION_KEYS)
      fail(
        "DATA_ENCRYPTION_KEYS is set: rotate it where it is kept (--new-key --print --from …)",
        2,
      );
    const { keys } = addDataKey(file);
    console.log(
      `${file}: new values are sealed with ${keys[0]!.kid} once the server restarts; ${kids(keys.slice(1)) || "no older keys"} still open older values. Then run npm run keys:rotate-data.`,
    );
  }
} else if (values["drop-old"]) {
  if (process.env.DATA_ENCRYPTION_KEYS)
    fail("DATA_ENCRYPTION_KEYS is set: edit it where it is kept", 2);
  const sealer = await Sealer.fromJson(currentKeys());
  const { client, shown } = openDatabase();
  try {
    const left = await rotationBacklog(client, buildModels(collections), sealer);
    if (left > 0)
      fail(
        `${left} values in ${shown} still need an older key: run npm run keys:rotate-data first`,
      );
    const dropped = dropOldDataKeys(file);
    console.log(`${file}: kept ${sealer.activeKid}; dropped ${kids(dropped) || "nothing"}`);
  } finally {
    client.close();
  }
} else {
  const sealer = await Sealer.fromJson(currentKeys());
  const { client, shown } = openDatabase();
  const positive = (text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) fail(`not a positive whole number: ${text}`, 2);
    return n;
  };
  try {
    const started = Date.now();
    const progress = await reencrypt(client, buildModels(collections), sealer, {
      batchSize: positive(values["batch-size"]),
      maxBatches: positive(values["max-batches"]),
      onBatch: (p) => console.log(`re-sealed ${p.resealed} so far`),
    });
    console.log(
      `${shown}: re-sealed ${progress.resealed} values with ${sealer.activeKid} in ${Date.now() - started} ms (${JSON.stringify(progress.fields)}); ${progress.remaining} left${progress.remaining > 0 ? " — run again to finish" : " — older keys can go (--drop-old)"}`,
    );
    if (progress.remaining > 0) process.exitCode = 3;
  } finally {
    client.close();
  }
}
