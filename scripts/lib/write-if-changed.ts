// Shared by the asset builds (scripts/build-ui.ts, scripts/build-openapi.ts); no app code here,
// so `npm run build:ui -- --no-openapi` stays quick.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Writes a file only when its bytes change, through a rename: a reader (workerd's asset server,
 * the Node home, a test) sees the old file or the new one, never half of one. True if written.
 */
export function writeIfChanged(file: string, bytes: string | Uint8Array): boolean {
  const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
  if (existsSync(file) && Buffer.compare(readFileSync(file), data) === 0) return false;
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
  return true;
}
