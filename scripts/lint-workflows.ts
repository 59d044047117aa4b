// `npm run lint:workflows` (part of `npm run lint`): actionlint — the GitHub Actions workflow
// checker (expressions, contexts, job graph, shell scripts' syntax) — over .github/workflows/*,
// run from its WebAssembly build on npm so CI needs no Go toolchain or download.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";

const dir = ".github/workflows";
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  const path = join(dir, file);
  for (const p of lint(readFileSync(path, "utf8"), path)) {
    problems++;
    console.error(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
}
if (problems > 0) {
  console.error(`actionlint: ${problems} problem(s) in ${files.length} workflow(s)`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} workflow(s) clean`);
