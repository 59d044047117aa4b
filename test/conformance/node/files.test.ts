import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineFilesSuite } from "../files.suite";
import { makeNodeHome } from "../node-home";

// Local disk: a delete "fails" for real while a directory with content stands where the file was.
defineFilesSuite(makeNodeHome, () => {
  const dir = mkdtempSync(join(tmpdir(), "nearbase-files-"));
  let broken: string | undefined;
  return {
    env: { FILES_DIR: dir },
    // While broken, the object waits beside its path.
    stored: async (key) =>
      join(dir, key) === broken ? existsSync(`${broken}.aside`) : existsSync(join(dir, key)),
    remove: async (key) => rmSync(join(dir, key)),
    async breakDeletes(key) {
      broken = join(dir, key);
      renameSync(broken, `${broken}.aside`);
      mkdirSync(broken);
      writeFileSync(join(broken, "blocker"), "x");
    },
    async heal() {
      if (broken === undefined) return;
      rmSync(broken, { recursive: true });
      renameSync(`${broken}.aside`, broken);
      broken = undefined;
    },
  };
});
