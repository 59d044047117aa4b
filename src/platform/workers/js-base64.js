// What the Worker build gets for "js-base64" (alias in wrangler.toml): the two functions libSQL's
// clients call (@libsql/hrana-client for blob values, @libsql/core for ArrayBuffer arguments),
// with js-base64 3.9's behaviour, over the runtime's own base64 instead of the whole package
// (1.6 KiB gzip of the Worker). test/node/worker-base64.test.ts checks them against js-base64.
const chunk = 0x1000;

/** Standard base64 with padding; URL-safe without padding when `urlsafe`. */
function fromUint8Array(bytes, urlsafe = false) {
  let text;
  if (typeof bytes.toBase64 === "function") text = bytes.toBase64();
  else {
    const parts = [];
    for (let i = 0; i < bytes.length; i += chunk) {
      parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + chunk)));
    }
    text = btoa(parts.join(""));
  }
  return urlsafe ? text.replace(/=/g, "").replace(/[+/]/g, (c) => (c === "+" ? "-" : "_")) : text;
}

/** Standard or URL-safe base64, padded or not; other characters are ignored (as js-base64). */
function toUint8Array(text) {
  const tidy = text.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/")).replace(/[^A-Za-z0-9+/]/g, "");
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(tidy);
  const binary = atob(tidy);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export const Base64 = { fromUint8Array, toUint8Array };
export { fromUint8Array, toUint8Array };
