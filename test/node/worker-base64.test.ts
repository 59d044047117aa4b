import { Base64 as jsBase64 } from "js-base64";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain JS without types; it is what the Worker build gets for "js-base64".
import { Base64 } from "../../src/platform/workers/js-base64.js";

/**
 * libSQL's clients send blob arguments and read blob values as base64 through js-base64; the
 * Worker build aliases it to src/platform/workers/js-base64.js (wrangler.toml). A blob must
 * come back byte for byte, whatever form of base64 the server sends.
 */
describe("the Worker's js-base64 (src/platform/workers/js-base64.js)", () => {
  const samples = [
    new Uint8Array(0),
    new Uint8Array([0]),
    new Uint8Array([255, 254]),
    new Uint8Array([251, 255, 191]),
    ...Array.from({ length: 200 }, (_, i) => crypto.getRandomValues(new Uint8Array(i * 7))),
    crypto.getRandomValues(new Uint8Array(20_000)),
  ];

  it("encodes as js-base64 does, standard and URL-safe", () => {
    for (const bytes of samples) {
      expect(Base64.fromUint8Array(bytes)).toBe(jsBase64.fromUint8Array(bytes));
      expect(Base64.fromUint8Array(bytes, true)).toBe(jsBase64.fromUint8Array(bytes, true));
    }
  });

  it("decodes every form js-base64 accepts to the same bytes", () => {
    for (const bytes of samples) {
      const standard = jsBase64.fromUint8Array(bytes);
      for (const text of [
        standard,
        standard.replace(/=+$/, ""),
        jsBase64.fromUint8Array(bytes, true),
        standard.replace(/.{1,60}/g, "$&\n"),
      ]) {
        const decoded = Base64.toUint8Array(text);
        expect(decoded).toBeInstanceOf(Uint8Array);
        expect([...decoded]).toEqual([...jsBase64.toUint8Array(text)]);
        expect([...decoded]).toEqual([...bytes]);
      }
    }
  });
});
