import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

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
});
