// `npm run secrets:setup -- --env <staging|production> [--file .secrets/<env>.env]`
//
// Makes (or completes) the file of secrets a Workers deploy needs: generates the keys
// (JWT_PRIVATE_KEYS, WEBHOOK_SECRET_KEY, DATA_ENCRYPTION_KEYS) and asks for what only you know
// (DATABASE_URL, DATABASE_AUTH_TOKEN; read from the environment when set). Values already in the
// file are kept — running it again never replaces a key. The file is written with mode 0600 under
// .secrets/ (git-ignored). Then either:
//   npm run deploy -- --env <env> --secrets-file .secrets/<env>.env
// or store them as the CI environment's secrets: gh secret set --env <env> -f .secrets/<env>.env
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs, parseEnv } from "node:util";
import { type Secrets, secretProblems, secretSpecs } from "./lib/secrets";

const { values } = parseArgs({
  options: { env: { type: "string" }, file: { type: "string" } },
  strict: true,
});
const envName = values.env;
if (envName === undefined || !/^[a-z][a-z0-9-]*$/.test(envName)) {
  console.error("usage: npm run secrets:setup -- --env <staging|production> [--file F]");
  process.exit(2);
}
const file = values.file ?? `.secrets/${envName}.env`;

const current: Secrets = existsSync(file) ? parseEnv(readFileSync(file, "utf8")) : {};
const prompt = process.stdin.isTTY
  ? createInterface({ input: process.stdin, output: process.stdout })
  : undefined;

const made: string[] = [];
for (const spec of secretSpecs) {
  if (current[spec.name]) continue;
  if (process.env[spec.name]) {
    current[spec.name] = process.env[spec.name];
  } else if (spec.generate) {
    current[spec.name] = await spec.generate();
    made.push(spec.name);
  } else if (prompt && spec.required(current)) {
    const answer = (await prompt.question(`${spec.name} — ${spec.doc}: `)).trim();
    if (answer) current[spec.name] = answer;
  }
}
prompt?.close();

/** dotenv quoting that Node's parseEnv, wrangler and `gh secret set -f` all read back verbatim. */
function quote(name: string, value: string): string {
  if (!value.includes("'") && !value.includes("\n")) return `'${value}'`;
  throw new Error(`${name}: a value with a single quote or a newline cannot go in a dotenv file`);
}

const lines = [
  `# Nearbase secrets for the "${envName}" Workers environment (npm run secrets:setup).`,
  "# Never commit this file. Upload: npm run deploy -- --env <env> --secrets-file <this file>",
  ...secretSpecs
    .filter((s) => current[s.name])
    .map((s) => `${s.name}=${quote(s.name, current[s.name] as string)}`),
];
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
chmodSync(file, 0o600);

console.log(`${file}: ${made.length ? `generated ${made.join(", ")}; ` : ""}kept what was there`);
const problems = await secretProblems(current);
if (problems.length > 0) {
  console.error("still needed before a deploy:");
  for (const p of problems) console.error(`  - ${p}`);
  console.error(`add them to ${file} (NAME='value') or set them in the environment and run again`);
  process.exit(1);
}
console.log(
  `ready: npm run deploy -- --env ${envName} --secrets-file ${file}\n   or: gh secret set --env ${envName} -f ${file}   (for .github/workflows/deploy.yml)`,
);
