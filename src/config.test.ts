import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, settings } from "./config";

describe("configuration", () => {
  it("needs nothing in the Node home", () => {
    const config = loadConfig({}, "node");
    expect(config).toMatchObject({
      port: 8787,
      host: "127.0.0.1",
      databaseUrl: "file:./data/nearbase.db",
      corsOrigins: [],
      bodyLimitBytes: 1048576,
      logLevel: "info",
    });
  });

  it("requires DATABASE_URL on Workers, and says how to set it", () => {
    expect(() => loadConfig({}, "workers")).toThrow(
      /DATABASE_URL is required.*wrangler secret put DATABASE_URL/,
    );
  });

  it("rejects a file: database on Workers", () => {
    expect(() => loadConfig({ DATABASE_URL: "file:x.db" }, "workers")).toThrow(/no file system/);
  });

  it("names every bad setting at once", () => {
    try {
      loadConfig(
        { PORT: "eighty", LOG_LEVEL: "loud", DATABASE_URL: "postgres://x", CORS_ORIGINS: "evil" },
        "node",
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join("\n");
      expect(problems).toMatch(/PORT must be a whole number/);
      expect(problems).toMatch(/LOG_LEVEL must be one of/);
      expect(problems).toMatch(/DATABASE_URL must start with/);
      expect(problems).toMatch(/CORS_ORIGINS has "evil"/);
      expect(problems).toMatch(/PORT=value npm start/);
    }
  });

  it("parses lists and numbers", () => {
    const config = loadConfig(
      {
        CORS_ORIGINS: "https://a.example, http://localhost:5173",
        BODY_LIMIT_BYTES: "4096",
        PORT: "0",
      },
      "node",
    );
    expect(config.corsOrigins).toEqual(["https://a.example", "http://localhost:5173"]);
    expect(config.bodyLimitBytes).toBe(4096);
    expect(config.port).toBe(0);
  });

  it("checks rate limits with the parser the limiter uses, so nothing accepted fails later", () => {
    for (const [name, value] of [
      ["LOGIN_LIMIT_PER_ACCOUNT", "0/15m"],
      ["RATE_LIMIT_READ", "5/0s"],
      ["FORGOT_LIMIT_PER_ACCOUNT", "off"],
      ["CREDENTIAL_FAILURE_LIMIT", "10/1d"],
    ] as const) {
      expect(() => loadConfig({ [name]: value }, "node"), `${name}=${value}`).toThrow(
        new RegExp(`${name} .*\\(got "${value.replace("/", "\\/")}"\\)`),
      );
    }
    const config = loadConfig({ RATE_LIMIT_READ: "off", LOGIN_LIMIT_PER_ACCOUNT: "3/1h" }, "node");
    expect(config.rateLimits.read).toBe("off");
    expect(config.loginLimitPerAccount).toBe("3/1h");
  });

  it("refuses a Node-only setting on Workers instead of ignoring it", () => {
    const workers = { DATABASE_URL: "https://db.example" };
    for (const name of ["PORT", "TRUST_PROXY", "QUERY_BUDGET_MS", "CACHE_MAX_BYTES"]) {
      expect(() => loadConfig({ ...workers, [name]: "1" }, "workers"), name).toThrow(
        new RegExp(`${name} applies to the node home only`),
      );
    }
    expect(loadConfig(workers, "workers").databaseUrl).toBe("https://db.example");
  });

  it("documents every setting in the README's configuration table", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const table = readme.slice(readme.indexOf("## Configuration"));
    for (const s of Object.values(settings)) expect(table, s.name).toContain(s.name);
  });
});
