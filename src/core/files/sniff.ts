/**
 * What a file is, from its first bytes (magic numbers), whatever the client claimed: a field's
 * `mimeTypes` are checked against this, and files are served with it. Anything unknown is
 * `application/octet-stream`; valid UTF-8 text with no control bytes is `text/plain` (never
 * HTML or SVG: markup is served as plain text or not at all, so an upload cannot become script
 * on this origin).
 */
export function sniff(bytes: Uint8Array): string {
  const at = (offset: number, ...sig: number[]) => sig.every((b, i) => bytes[offset + i] === b);
  const ascii = (offset: number, text: string) =>
    [...text].every((ch, i) => bytes[offset + i] === ch.charCodeAt(0));
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (at(0, 0xff, 0xd8, 0xff)) return "image/jpeg";
  if (ascii(0, "GIF87a") || ascii(0, "GIF89a")) return "image/gif";
  if (ascii(0, "RIFF") && ascii(8, "WEBP")) return "image/webp";
  if (ascii(4, "ftyp")) {
    const brand = String.fromCharCode(...bytes.subarray(8, 12));
    if (brand === "avif" || brand === "avis") return "image/avif";
    return "video/mp4";
  }
  if (ascii(0, "%PDF-")) return "application/pdf";
  if (at(0, 0x50, 0x4b, 0x03, 0x04) || at(0, 0x50, 0x4b, 0x05, 0x06)) return "application/zip";
  if (at(0, 0x1f, 0x8b)) return "application/gzip";
  if (ascii(0, "ID3") || at(0, 0xff, 0xfb) || at(0, 0xff, 0xf3)) return "audio/mpeg";
  if (isPlainText(bytes)) return "text/plain";
  return "application/octet-stream";
}

/** UTF-8 without NUL/control bytes (tabs and line breaks allowed) and not markup. */
function isPlainText(bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  // A multi-byte character may be cut at the end of the sample: decode up to the last 3 bytes strictly.
  const sample = bytes.subarray(0, Math.min(bytes.length, 4096));
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      sample.length < bytes.length ? trimPartial(sample) : sample,
    );
  } catch {
    return false;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    if (c === 0x7f) return false;
  }
  // What browsers would sniff as HTML/XML if a header were ever lost.
  return !/^\s*<(?:!doctype|html|head|body|script|svg|\?xml|iframe|object)/i.test(text);
}

function trimPartial(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  // Step back over continuation bytes to the start of the last character, and drop it.
  for (let i = 0; i < 3 && end > 0 && (bytes[end - 1]! & 0xc0) === 0x80; i++) end--;
  if (end > 0 && bytes[end - 1]! >= 0xc0) end--;
  return bytes.subarray(0, end);
}
