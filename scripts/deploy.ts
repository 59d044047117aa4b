// `npm run deploy -- --env <staging|production> [--secrets-file F] [--dry-run] [--url https://…]
//   [--config wrangler.toml]`
//
// The one deploy path for the Workers home, for people and for CI (.github/workflows/deploy.yml):
//   1. checks every secret the Worker needs (from the environment — CI's environment secrets — or
//      a file made by `npm run secrets:setup`), naming each missing or unusable one;
//   2. applies pending migrations to the Turso database, and refuses to deploy if they fail;
//   3. uploads the secrets (`wrangler secret bulk --env …`, from stdin: never a file on disk);
//   4. `wrangler deploy --env …`;
//   5. waits for `<url>/ready` (PUBLIC_URL or --url) to answer 200.
// Before 2 it builds the static assets (`npm run build:ui`: the admin UI and the OpenAPI document
// the Worker answers GET /openapi.json with) and refuses unless the document there is the one
// this code builds, so a local problem never leaves the database migrated without a deploy;
// wrangler's [build] runs the same build again before it bundles.
// `--dry-run` does 1, the assets and builds the Worker for that environment (`wrangler deploy
// --dry-run`), touching neither the database nor Cloudflare: CI runs it for both environments.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs, parseEnv } from "node:util";
import { createClient } from "@libsql/client";
import { unstable_readConfig } from "wrangler";
import { migrateDatabase } from "../src/platform/node/migrate";
import { presentSecrets, type Secrets, secretProblems, secretSpecs } from "./lib/secrets";

const { values } = parseArgs({
  options: {
    env: { type: "string" },
    "secrets-file": { type: "string" },
    "dry-run": { type: "boolean", default: false },
    url: { type: "string" },
    config: { type: "string", default: "wrangler.toml" },
  },
  strict: true,
});
const envName = values.env;
const dryRun = values["dry-run"];
if (envName === undefined || !/^[a-z][a-z0-9-]*$/.test(envName)) {
  console.error(
    "usage: npm run deploy -- --env <staging|production> [--secrets-file F] [--dry-run] [--url U]",
  );
  process.exit(2);
}

// The environment as wrangler resolves it. One that wrangler.toml does not declare would deploy
// the top-level Worker (wrangler only warns), and wrangler does not carry bindings or vars into
// an environment: refuse both, before anything else.
const configPath = values.config;
if (!new RegExp(`^\\[env\\.${envName}(\\.|\\])`, "m").test(readFileSync(configPath, "utf8"))) {
  console.error(`deploy to ${envName} refused:\n  - ${configPath} declares no [env.${envName}]`);
  process.exit(1);
}
const top = unstable_readConfig({ config: configPath });
const target = unstable_readConfig({ config: configPath, env: envName });
const missingBindings = [...bindingNames(top)].filter((b) => !bindingNames(target).has(b));
if (missingBindings.length > 0) {
  console.error(
    `deploy to ${envName} refused:\n  - [env.${envName}] lacks what the top level declares (environments inherit no bindings or vars): ${missingBindings.join(", ")}`,
  );
  process.exit(1);
}

/** Every binding and var a resolved config declares, as `kind:name`. */
function bindingNames(config: ReturnType<typeof unstable_readConfig>): Set<string> {
  const names = new Set<string>();
  for (const name of Object.keys(config.vars ?? {})) names.add(`var:${name}`);
  const lists: Record<string, unknown[] | undefined> = {
    queue: config.queues?.producers,
    durable_object: config.durable_objects?.bindings,
    kv: config.kv_namespaces,
    r2: config.r2_buckets,
    d1: config.d1_databases,
    analytics: config.analytics_engine_datasets,
    ratelimit: (config as { ratelimits?: unknown[] }).ratelimits,
    service: config.services,
    unsafe: config.unsafe?.bindings,
  };
  for (const [kind, list] of Object.entries(lists))
    for (const b of list ?? []) {
      const entry = b as { binding?: string; name?: string };
      names.add(`${kind}:${entry.binding ?? entry.name}`);
    }
  if (config.ai?.binding) names.add(`ai:${config.ai.binding}`);
  if (config.assets?.binding) names.add(`assets:${config.assets.binding}`);
  // Queue names differ per environment; what must not be missing is a consumer at all.
  if ((config.queues?.consumers ?? []).length > 0) names.add("queue consumer");
  return names;
}

const publicUrl = (target.vars as Record<string, unknown> | undefined)?.PUBLIC_URL;
const placeholder =
  typeof publicUrl !== "string" ||
  !publicUrl.startsWith("https://") ||
  /example\.com/.test(publicUrl);

function step(text: string) {
  console.log(`▸ ${text}`);
}

function refuse(lines: string[]): never {
  console.error(`deploy to ${envName} refused:`);
  for (const line of lines) console.error(`  - ${line}`);
  process.exit(1);
}

/** Runs wrangler from node_modules (its output streamed), resolving with its exit code. */
function wrangler(args: string[], stdin?: string): Promise<number> {
  return run("npx", ["--no-install", "wrangler", ...args], stdin);
}

/** Runs a command (its output streamed), resolving with its exit code. */
function run(command: string, args: string[], stdin?: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      stdio: [stdin === undefined ? "ignore" : "pipe", "inherit", "inherit"],
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    child.on("exit", (code) => resolve(code ?? 1));
    child.on("error", () => resolve(1));
  });
}

// 1. Secrets: the environment, then the file (an explicit file wins).
const secrets: Secrets = {};
for (const spec of secretSpecs) secrets[spec.name] = process.env[spec.name];
if (values["secrets-file"] !== undefined) {
  let text: string;
  try {
    text = readFileSync(values["secrets-file"], "utf8");
  } catch {
    refuse([`cannot read ${values["secrets-file"]} (make it with npm run secrets:setup)`]);
  }
  Object.assign(secrets, parseEnv(text));
}
const problems = await secretProblems(secrets);
if (!dryRun && !process.env.CLOUDFLARE_API_TOKEN && !process.stdin.isTTY)
  problems.push(
    "CLOUDFLARE_API_TOKEN is missing: a non-interactive deploy needs an API token (Workers Scripts: Edit)",
  );
if (placeholder && !dryRun)
  problems.push(
    `PUBLIC_URL in [env.${envName}.vars] is ${publicUrl === undefined ? "not set" : `"${String(publicUrl)}"`}: set your deployed https origin (links in mail, OAuth callbacks)`,
  );
if (problems.length > 0)
  refuse([
    ...problems,
    `set them in the environment (CI: the ${envName} environment's secrets) or in a file: npm run secrets:setup -- --env ${envName}`,
  ]);
step(`secrets: ${Object.keys(presentSecrets(secrets)).join(", ")}`);

// 1b. The static assets, built from this code: the Worker reads the admin UI and the OpenAPI
// document (GET /openapi.json) from them, so neither may be stale or missing. Before the
// migrations: a local problem stops the deploy before it changes the database.
const assetsDirectory = target.assets?.directory;
if (assetsDirectory === undefined)
  refuse([
    `${configPath} gives [env.${envName}] no [assets] directory: the Worker serves /openapi.json and the admin UI from it`,
  ]);
if ((await run("npm", ["run", "--silent", "build:ui"])) !== 0)
  refuse([
    "npm run build:ui failed (see above): the admin UI and /openapi.json are not built; nothing was deployed",
  ]);
// The app's code is loaded only now: the refusals above stay quick and independent of it.
const { apiDocumentFile, apiDocumentText } = await import("./build-openapi");
const documentFile = apiDocumentFile(resolve(dirname(configPath), assetsDirectory));
if (!existsSync(documentFile) || readFileSync(documentFile, "utf8") !== apiDocumentText())
  refuse([
    `${documentFile} is ${existsSync(documentFile) ? "not the document this code builds" : "missing"} after npm run build:ui: the Worker would answer /openapi.json with ${existsSync(documentFile) ? "a stale document" : "503"}; nothing was deployed`,
  ]);
step(`assets: admin UI and ${documentFile} built from this code`);

// 2. Migrations first: code never runs against a schema older than it expects.
if (dryRun) {
  step("migrations: skipped (dry run: the database is not touched)");
} else {
  const db = createClient({
    url: secrets.DATABASE_URL as string,
    authToken: secrets.DATABASE_AUTH_TOKEN || undefined,
  });
  try {
    await migrateDatabase(db);
    step("migrations: applied (or already current)");
  } catch (err) {
    refuse([
      `migrations failed: ${err instanceof Error ? err.message : String(err)}`,
      "nothing was deployed; fix the database (or the migration) and run again",
    ]);
  } finally {
    db.close();
  }
}

// 3. + 4. Secrets, then the Worker.
if (dryRun) {
  const out = mkdtempSync(join(tmpdir(), "nearbase-deploy-"));
  const code = await wrangler([
    "deploy",
    "--dry-run",
    "--config",
    configPath,
    "--env",
    envName,
    "--outdir",
    out,
  ]);
  rmSync(out, { recursive: true, force: true });
  if (code !== 0) refuse([`wrangler deploy --dry-run --env ${envName} failed (see above)`]);
  step(`dry run complete: ${envName} builds, its bindings are valid and its secrets are usable`);
  process.exit(0);
}
if (
  (await wrangler(
    ["secret", "bulk", "--env", envName],
    JSON.stringify(presentSecrets(secrets)),
  )) !== 0
)
  refuse(["uploading the secrets failed (see above); the previous version keeps running"]);
step("secrets uploaded");
if ((await wrangler(["deploy", "--config", configPath, "--env", envName])) !== 0)
  refuse([
    "wrangler deploy failed (see above); migrations are applied and additive, the previous version keeps running",
  ]);
step("deployed");

// 5. Ready: the database reachable, migrations applied, keys loading.
// The environment's PUBLIC_URL (checked above: an https origin, not the placeholder) unless --url.
const base = values.url ?? (typeof publicUrl === "string" ? publicUrl : undefined);
if (base === undefined) {
  step("pass --url (or PUBLIC_URL) to wait for /ready after a deploy");
} else {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const status = await fetch(new URL("/ready", base)).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) {
      step(`${base}/ready answers 200`);
      break;
    }
    if (Date.now() > deadline)
      refuse([
        `${base}/ready still answers ${status || "nothing"} after 90 s: check \`npx wrangler tail --env ${envName}\``,
      ]);
    await new Promise((r) => setTimeout(r, 3_000));
  }
}
