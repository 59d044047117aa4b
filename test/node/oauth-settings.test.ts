import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";

describe("OAuth provider settings", () => {
  const base = { DATABASE_URL: "file::memory:" };
  const pem =
    "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxYu6mUaQakmEl26w\\novDpESIz/GZlDanSrFORVxc9tfOhRANCAAQMzi5gGJqutSxeE9MQ7LYhe36e79d8\\nvT4XeZxSzPS5zPbec6yzUydMLUR6ZbxiX2Dy9bYsrEcJKzTZgcS6MfFk\\n-----END PRIVATE KEY-----";
  const apple = {
    OAUTH_APPLE_CLIENT_ID: "com.example.web",
    OAUTH_APPLE_TEAM_ID: "T",
    OAUTH_APPLE_KEY_ID: "K",
    OAUTH_APPLE_PRIVATE_KEY: pem,
  };
  it("reads Apple's four settings, the key as PKCS#8 bytes (\\n or real line breaks)", () => {
    const config = loadConfig({ ...base, ...apple }, "node");
    expect(config.oauth.apple?.privateKey[0]).toBe(0x30);
    expect(config.oauth.apple?.privateKey.length).toBe(138);
    const real = loadConfig(
      { ...base, ...apple, OAUTH_APPLE_PRIVATE_KEY: pem.replace(/\\n/g, "\n") },
      "node",
    );
    expect(real.oauth.apple?.privateKey).toEqual(config.oauth.apple?.privateKey);
  });
  it("fails loudly on a partial or malformed provider setting", () => {
    expect(() =>
      loadConfig({ ...base, ...apple, OAUTH_APPLE_PRIVATE_KEY: "not a key" }, "node"),
    ).toThrow(/OAUTH_APPLE_PRIVATE_KEY/);
    expect(() => loadConfig({ ...base, OAUTH_APPLE_CLIENT_ID: "x" }, "node")).toThrow(
      /OAUTH_APPLE/,
    );
    expect(() => loadConfig({ ...base, OAUTH_DISCORD_CLIENT_ID: "x" }, "node")).toThrow(
      /OAUTH_DISCORD/,
    );
    expect(() =>
      loadConfig(
        {
          ...base,
          OAUTH_MICROSOFT_CLIENT_ID: "a",
          OAUTH_MICROSOFT_CLIENT_SECRET: "b",
          OAUTH_MICROSOFT_TENANT: "a/b",
        },
        "node",
      ),
    ).toThrow(/OAUTH_MICROSOFT_TENANT/);
    expect(() =>
      loadConfig(
        {
          ...base,
          OAUTH_OIDC_ISSUER: "https://id.example",
          OAUTH_OIDC_CLIENT_ID: "a",
          OAUTH_OIDC_CLIENT_SECRET: "b",
          OAUTH_OIDC_NAME: "apple",
        },
        "node",
      ),
    ).toThrow(/OAUTH_OIDC_NAME/);
  });
  it("defaults: Entra tenant common, GitLab at gitlab.com (or a self-managed one)", () => {
    const config = loadConfig(
      {
        ...base,
        OAUTH_MICROSOFT_CLIENT_ID: "a",
        OAUTH_MICROSOFT_CLIENT_SECRET: "b",
        OAUTH_GITLAB_CLIENT_ID: "c",
        OAUTH_GITLAB_CLIENT_SECRET: "d",
      },
      "node",
    );
    expect(config.oauth.microsoft?.tenant).toBe("common");
    expect(config.oauth.gitlab?.baseUrl).toBe("https://gitlab.com");
    const own = loadConfig(
      {
        ...base,
        OAUTH_GITLAB_CLIENT_ID: "c",
        OAUTH_GITLAB_CLIENT_SECRET: "d",
        OAUTH_GITLAB_URL: "https://git.example.org/",
      },
      "node",
    );
    expect(own.oauth.gitlab?.baseUrl).toBe("https://git.example.org");
  });
});
