import { randomId } from "../kernel/crypto";

/** What a stored file's name may look like (checked before any storage lookup). */
export const fileNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,150}$/;

/**
 * A stored name for an uploaded file: the client's name reduced to safe characters, plus a
 * random suffix, so every upload has a URL of its own (`report_k3j9x8a0b1c2.pdf`): cached
 * copies of a URL never go stale, and nobody guesses another upload's URL from its name.
 */
export function storedName(clientName: string): string {
  const base = clientName.split(/[\\/]/).pop() ?? "";
  const dot = base.lastIndexOf(".");
  const ext =
    dot > 0
      ? base
          .slice(dot + 1)
          .replace(/[^A-Za-z0-9]/g, "")
          .slice(0, 10)
          .toLowerCase()
      : "";
  const stem = (dot > 0 ? base.slice(0, dot) : base)
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^[_-]+|_+$/g, "")
    .slice(0, 80);
  const suffix = randomId("x").slice(2, 14);
  return `${stem || "file"}_${suffix}${ext ? `.${ext}` : ""}`;
}

/** The storage key of a record's file. */
export function storageKey(collection: string, recordId: string, field: string, name: string) {
  return `${collection}/${recordId}/${field}/${name}`;
}
