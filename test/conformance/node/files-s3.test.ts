import { mkdtempSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import S3rver from "s3rver";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config";
import { s3Client, s3Storage } from "../../../src/platform/node/storage-s3";
import { defineFilesSuite } from "../files.suite";
import { makeNodeHome } from "../node-home";

// The Node home on its S3-compatible adapter (FILES_S3_*), against s3rver: a real S3 server on
// loopback (npm; it checks SigV4 signatures with its fixed S3RVER/S3RVER keys). The app talks to
// it through a small proxy that can refuse one key's deletes (503), as a flaky bucket would.
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory: mkdtempSync(join(tmpdir(), "nearbase-s3rver-")),
  configureBuckets: [{ name: "nearbase-files", configs: [] }],
});
const { port: s3Port } = (await server.run()) as AddressInfo;
let broken: string | undefined;
const proxy = createServer((req, res) => {
  const key = decodeURIComponent((req.url ?? "").split("?")[0]!.replace(/^\/nearbase-files\//, ""));
  if (req.method === "DELETE" && key === broken) {
    res.writeHead(503, { "content-type": "application/xml" });
    res.end("<Error><Code>SlowDown</Code></Error>");
    return;
  }
  const upstream = request(
    { host: "127.0.0.1", port: s3Port, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  req.pipe(upstream);
});
await new Promise<void>((ok) => proxy.listen(0, "127.0.0.1", ok));
const bucketUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/nearbase-files`;
const keys = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
const direct = new AwsClient({ ...keys, service: "s3", region: "us-east-1" });
const objectUrl = (key: string) => `http://127.0.0.1:${s3Port}/nearbase-files/${key}`;
afterAll(async () => {
  proxy.close();
  await server.close();
});

defineFilesSuite(makeNodeHome, () => ({
  env: {
    FILES_S3_URL: bucketUrl,
    FILES_S3_REGION: "us-east-1",
    FILES_S3_ACCESS_KEY_ID: keys.accessKeyId,
    FILES_S3_SECRET_ACCESS_KEY: keys.secretAccessKey,
  },
  async stored(key) {
    const res = await direct.fetch(objectUrl(key), { method: "HEAD" });
    return res.ok;
  },
  async remove(key) {
    const res = await direct.fetch(objectUrl(key), { method: "DELETE" });
    expect(res.status).toBe(204);
  },
  async breakDeletes(key) {
    broken = key;
  },
  async heal() {
    broken = undefined;
  },
}));

describe("S3 adapter", () => {
  it("signs requests as AWS's SigV4 example for S3 says (GET Object with a Range)", async () => {
    // s3rver does not check SigV4 signatures (it accepts any), so the signing is checked against
    // the worked example in AWS's S3 documentation ("Signature Calculations for the
    // Authorization Header", example GET Object): the same request must carry the same signature.
    const signer = s3Client({
      region: "us-east-1",
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    });
    const signed = await signer.sign("https://examplebucket.s3.amazonaws.com/test.txt", {
      headers: {
        range: "bytes=0-9",
        // aws4fetch sends UNSIGNED-PAYLOAD unless told; AWS's example signs the empty body's hash.
        "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      },
      aws: { datetime: "20130524T000000Z", allHeaders: true },
    });
    expect(signed.headers.get("authorization")).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    );
  });

  it("stores, reads and deletes keys that need escaping; errors carry the status, never the secret", async () => {
    const direct = `http://127.0.0.1:${s3Port}/nearbase-files`;
    const right = s3Storage({ url: direct, region: "us-east-1", ...keys });
    const digest = async (bytes: Uint8Array) =>
      Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("base64url");
    const bytes = new Uint8Array([1, 2, 3]);
    const sha256 = await digest(bytes);
    const key = "t/y z+é@100x100";
    await right.put(key, bytes, { contentType: "image/png", sha256 });
    expect(await right.head(key)).toEqual({ contentType: "image/png", sha256, size: 3 });
    const part = await right.get(key, { offset: 1, length: 2 });
    expect(part?.size).toBe(3);
    expect([...new Uint8Array(await new Response(part!.body).arrayBuffer())]).toEqual([2, 3]);
    await right.delete([key, "t/never"]);
    expect(await right.head(key)).toBeUndefined();
    expect(await right.get(key)).toBeUndefined();

    const wrongBucket = s3Storage({ url: `${direct}-missing`, region: "us-east-1", ...keys });
    const one = new Uint8Array([1]);
    const put = wrongBucket.put("t/x", one, {
      contentType: "text/plain",
      sha256: await digest(one),
    });
    await expect(put).rejects.toThrow(/^S3 put t\/x: 404 NoSuchBucket$/);
    // Checked at start (src/platform/node/main.ts): a missing bucket stops it.
    await expect(wrongBucket.check!()).rejects.toThrow(/FILES_S3_URL: the bucket answered 404/);
    await right.check!();
  });

  it("stops the start on a partial or malformed FILES_S3_* set, and on Workers", () => {
    const base = { DATABASE_URL: "file:/tmp/x.db" };
    const all = {
      FILES_S3_URL: "http://127.0.0.1:9000/files",
      FILES_S3_ACCESS_KEY_ID: "id",
      FILES_S3_SECRET_ACCESS_KEY: "secret",
    };
    expect(loadConfig({ ...base, ...all }, "node").filesS3).toEqual({
      url: all.FILES_S3_URL,
      region: "auto",
      accessKeyId: "id",
      secretAccessKey: "secret",
    });
    expect(loadConfig(base, "node").filesS3).toBeUndefined();
    expect(() => loadConfig({ ...base, FILES_S3_URL: all.FILES_S3_URL }, "node")).toThrow(
      /FILES_S3_URL and FILES_S3_ACCESS_KEY_ID, FILES_S3_SECRET_ACCESS_KEY must be set together/,
    );
    expect(() => loadConfig({ ...base, ...all, FILES_S3_URL: "s3://files" }, "node")).toThrow(
      /FILES_S3_URL/,
    );
    expect(() => loadConfig({ DATABASE_URL: "https://db.example", ...all }, "workers")).toThrow(
      /FILES_S3_URL applies to the node home only/,
    );
  });
});
