import { describe, expect, it } from "vitest";
import { classifyIp, refuseAddress } from "./address-guard";

describe("webhook address guard", () => {
  it.each([
    ["8.8.8.8", "public"],
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["169.254.169.254", "link-local"],
    ["0.0.0.0", "reserved"],
    ["224.0.0.1", "reserved"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::", "reserved"],
    ["fd00:ec2::254", "private"],
    ["fe80::1", "link-local"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:a9fe:a9fe", "link-local"],
    ["64:ff9b::a9fe:a9fe", "link-local"],
    ["2606:4700::1111", "public"],
  ])("%s is %s", (ip, kind) => {
    expect(classifyIp(ip)).toBe(kind);
  });

  it("is not fooled by names that are not IP literals", () => {
    expect(classifyIp("example.com")).toBeUndefined();
    expect(classifyIp("1.2.3")).toBeUndefined();
    expect(classifyIp("1:2:3")).toBeUndefined();
  });

  const closed = { allowPrivate: false, allowLoopback: false };
  it("refuses private, loopback, link-local and metadata targets by default", async () => {
    for (const url of [
      "http://127.0.0.1:9/x",
      "http://localhost/x",
      "http://[::1]/",
      "http://169.254.169.254/latest/meta-data",
      "http://metadata.google.internal/",
      "http://10.0.0.1/",
    ]) {
      expect(await refuseAddress(new URL(url), closed), url).toBeDefined();
    }
    expect(await refuseAddress(new URL("https://example.com/hook"), closed)).toBeUndefined();
  });

  it("checks every address a name resolves to", async () => {
    const resolve = async () => ["93.184.215.14", "10.0.0.5"];
    expect(await refuseAddress(new URL("https://sneaky.example/"), closed, resolve)).toMatch(
      /private/,
    );
    expect(
      await refuseAddress(
        new URL("https://sneaky.example/"),
        { ...closed, allowPrivate: true },
        resolve,
      ),
    ).toBeUndefined();
  });

  it("allows loopback only when the server allows it, and metadata never", async () => {
    const dev = { allowPrivate: true, allowLoopback: true };
    expect(await refuseAddress(new URL("http://127.0.0.1:8080/"), dev)).toBeUndefined();
    expect(await refuseAddress(new URL("http://169.254.169.254/"), dev)).toMatch(/link-local/);
  });
});
