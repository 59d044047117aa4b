import type { ByteRange } from "./storage";

/**
 * A `Range: bytes=…` header against an object of `size` bytes (RFC 9110 §14): one range
 * (`a-b`, `a-`, `-n`) → that range, clipped to the object; a range starting past the end →
 * "unsatisfiable" (416); anything else, several ranges included → undefined (the whole object,
 * as the RFC allows a server to ignore Range).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return "unsatisfiable";
  if (end < start) return undefined;
  return { offset: start, length: end - start + 1 };
}
