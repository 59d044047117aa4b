import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MailMessage } from "../../core/kernel/ports";

/** Development delivery: each message becomes a text file a developer can open. */
export function writeToOutbox(dir: string) {
  return async (message: MailMessage): Promise<string> => {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const safe = message.to.replace(/[^\w@.-]/g, "_");
    const file = join(dir, `${new Date().toISOString().replaceAll(":", "-")}-${safe}.txt`);
    await writeFile(file, `To: ${message.to}\nSubject: ${message.subject}\n\n${message.text}\n`, {
      mode: 0o600,
    });
    return file;
  };
}
