import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { embeddingColumns } from "../../src/core/search/column";
import { embeddersFromSecrets } from "../../src/core/search/embedders";
import { checkSearchOptions } from "../../src/core/search/spec";

const start = (env: Record<string, string>) => () =>
  loadConfig({ DATABASE_URL: "file:./x.db", ...env }, "node");

describe("embedder settings", () => {
  it("stops the start on an embedder setting that cannot work", () => {
    expect(start({ EMBEDDINGS_URL: "not a url" })).toThrow(
      /EMBEDDINGS_URL must be an http\(s\) URL/,
    );
    expect(start({ EMBEDDINGS_URL: "https://user:pw@api.example/v1" })).toThrow(ConfigError);
    // A key or model without the URL would be silently unused.
    expect(start({ EMBEDDINGS_API_KEY: "sk-test" })).toThrow(
      /EMBEDDINGS_API_KEY has no effect without EMBEDDINGS_URL/,
    );
    expect(start({ EMBEDDINGS_MODEL: "bge-small" })).toThrow(/EMBEDDINGS_MODEL has no effect/);
    expect(start({ EMBEDDINGS_URL: "https://api.example/v1", EMBEDDINGS_MODEL: "a b" })).toThrow(
      /EMBEDDINGS_MODEL must be a model name/,
    );
    expect(
      start({ EMBEDDINGS_URL: "https://api.example/v1/", EMBEDDINGS_API_KEY: "sk-test" }),
    ).not.toThrow();
  });

  it("never puts the key into the start error", () => {
    try {
      start({ EMBEDDINGS_API_KEY: "sk-very-secret" })();
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain("sk-very-secret");
    }
  });

  it("has the default embedder only when EMBEDDINGS_URL is set", async () => {
    const none = embeddersFromSecrets({ get: async () => undefined });
    expect(await none("default")).toBeUndefined();
    const env: Record<string, string> = { EMBEDDINGS_URL: "http://127.0.0.1:9/v1" };
    const some = embeddersFromSecrets({ get: async (n) => env[n] });
    expect((await some("default"))?.name).toBe("text-embedding-3-small");
  });

  it("refuses a collection naming an embedder Nearbase does not provide", () => {
    const t = sqliteTable("t", { id: text(), title: text(), ...embeddingColumns(8) });
    const vector = { dimensions: 8, source: ["title"] };
    expect(() => checkSearchOptions("t", t, { vector })).not.toThrow();
    expect(() => checkSearchOptions("t", t, { vector: { ...vector, embedder: "bge" } })).toThrow(
      /embedder "bge" is not one Nearbase provides \(default\)/,
    );
  });
});
