import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseEnv, promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { KeySet } from "../../src/core/accounts/signing-keys";
import { freePort, runScript } from "../processes";

/**
 * The Workers deploy path as code (docs/operations.md, .github/workflows/deploy.yml):
 * `npm run secrets:setup` makes the secrets file and never replaces a key; `npm run deploy`
 * refuses, naming each missing or unusable secret, an undeclared environment, or a database
 * whose migrations fail — before anything reaches Cloudflare; `--dry-run` builds the Worker for
 * the environment (CI runs it for staging and production).
 */
const _run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "nearbase-deploy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const turso = "libsql://nearbase-test-org.turso.io";

describe("npm run secrets:setup", () => {
  it("generates the keys, asks for what only the owner knows, and never replaces a key", async () => {
    const file = join(dir, "setup.env");
    const first = await runScript("secrets-setup", ["--env", "production", "--file", file], {
      DATABASE_URL: turso,
    });
    // A Turso URL needs its token: named, with how to get it.
    expect(first.code).toBe(1);
    expect(first.out).toMatch(/DATABASE_AUTH_TOKEN is missing: .*turso db tokens create/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const before = parseEnv(readFileSync(file, "utf8"));
    expect(await KeySet.fromJson(before.JWT_PRIVATE_KEYS as string)).toBeDefined();
    expect(before.WEBHOOK_SECRET_KEY).toMatch(/^[0-9a-f]{64}$/);

    const second = await runScript("secrets-setup", ["--env", "production", "--file", file], {
      DATABASE_AUTH_TOKEN: "token-from-turso",
    });
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/ready: npm run deploy -- --env production --secrets-file/);
    const after = parseEnv(readFileSync(file, "utf8"));
    expect(after.JWT_PRIVATE_KEYS).toBe(before.JWT_PRIVATE_KEYS);
    expect(after.DATA_ENCRYPTION_KEYS).toBe(before.DATA_ENCRYPTION_KEYS);
    expect(after.DATABASE_URL).toBe(turso);
    expect(after.DATABASE_AUTH_TOKEN).toBe("token-from-turso");
  }, 120_000);
});

describe("npm run deploy", () => {
  it("refuses without its secrets, naming each one, before touching anything", async () => {
    const res = await runScript("deploy", ["--env", "production", "--dry-run"]);
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/deploy to production refused/);
    expect(res.out).toMatch(/DATABASE_URL is missing/);
    expect(res.out).toMatch(/JWT_PRIVATE_KEYS is missing/);
    expect(res.out).toMatch(/npm run secrets:setup -- --env production/);
    expect(res.out).not.toMatch(/wrangler/i);
  }, 60_000);

  it("refuses an unusable key set, and an environment wrangler.toml does not declare", async () => {
    const banner = await runScript("deploy", ["--env", "production", "--dry-run"], {
      DATABASE_URL: "libsql://self-hosted.example.com",
      JWT_PRIVATE_KEYS: "\n> nearbase@0.1.0 keys:rotate\n[]",
    });
    expect(banner.code).toBe(1);
    expect(banner.out).toMatch(/JWT_PRIVATE_KEYS is not a usable key set/);
    // The secret's value never appears in the message.
    expect(banner.out).not.toMatch(/nearbase@0\.1\.0/);

    const unknown = await runScript("deploy", ["--env", "prodution", "--dry-run"]);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/declares no \[env\.prodution\]/);
  }, 60_000);

  it("refuses to deploy when migrations fail, and says nothing was deployed", async () => {
    const file = join(dir, "deploy.env");
    const keys = await runScript("secrets-setup", ["--env", "staging", "--file", file], {
      DATABASE_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(keys.code).toBe(0);
    // The committed configuration carries placeholder origins: a real deploy refuses them.
    const placeholder = await runScript("deploy", ["--env", "staging", "--secrets-file", file], {
      CLOUDFLARE_API_TOKEN: "unused",
    });
    expect(placeholder.code).toBe(1);
    expect(placeholder.out).toMatch(
      /PUBLIC_URL in \[env\.staging\.vars\] is "https:\/\/staging-api\.example\.com"/,
    );
    expect(placeholder.out).not.toMatch(/migrations/);

    // The same configuration with a real origin instead of the placeholder (which deploy refuses),
    // and its static assets where npm run build:ui writes them (deploy builds them first).
    const config = join(dir, "wrangler.toml");
    writeFileSync(
      config,
      readFileSync("wrangler.toml", "utf8")
        .replace("https://staging-api.example.com", "https://staging.nearbase-test.dev")
        .replaceAll('directory = "./ui/dist"', `directory = ${JSON.stringify(resolve("ui/dist"))}`),
    );
    const res = await runScript(
      "deploy",
      ["--env", "staging", "--secrets-file", file, "--config", config],
      { CLOUDFLARE_API_TOKEN: "not-used-migrations-fail-first" },
    );
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/migrations failed/);
    expect(res.out).toMatch(/nothing was deployed/);
    expect(res.out).not.toMatch(/secrets uploaded|deployed$/m);
  }, 120_000);

  it("--dry-run builds the Worker for the environment once its secrets are usable", async () => {
    const file = join(dir, "dry.env");
    writeFileSync(file, "");
    const setup = await runScript("secrets-setup", ["--env", "production", "--file", file], {
      DATABASE_URL: turso,
      DATABASE_AUTH_TOKEN: "token",
    });
    expect(setup.code).toBe(0);
    const res = await runScript(
      "deploy",
      ["--env", "production", "--dry-run", "--secrets-file", file],
      {
        WRANGLER_SEND_METRICS: "false",
        CI: "true",
      },
    );
    expect(res.out).toMatch(/dry run complete: production builds/);
    expect(res.code).toBe(0);
  }, 240_000);
});
