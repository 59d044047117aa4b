// `npm run bench:auth`: what one password hash costs in the Node home — PBKDF2-SHA256 at the
// iterations Nearbase uses (Web Crypto) — and an Ed25519 access-token signature. Wall time per
// operation, sequential. (workerd's figure comes from npm run bench's sequential log-in probe.)
import { generateSigningJwk, KeySet } from "../src/core/auth/keys";
import { hashPassword, passwordParams, verifyPassword } from "../src/core/auth/passwords";

const runs = Number(process.env.BENCH_RUNS ?? 20);

async function time(label: string, n: number, op: () => Promise<unknown>) {
  await op();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op();
  const ms = (performance.now() - t0) / n;
  console.log(`${label.padEnd(44)} ${ms.toFixed(2).padStart(8)} ms/op`);
  return ms;
}

console.log(`PBKDF2-SHA256, ${passwordParams.iterations} iterations; ${runs} runs each\n`);
const stored = await hashPassword("correct horse battery staple");
await time("node: hash a password", runs, () => hashPassword("correct horse battery staple"));
await time("node: verify a password", runs, () =>
  verifyPassword("correct horse battery staple", stored),
);
const keys = await KeySet.fromJson(JSON.stringify([await generateSigningJwk()]));
const token = await keys.sign(
  { role: "user" },
  { issuer: "i", audience: "a", subject: "usr_x", ttlSeconds: 900 },
);
await time("node: sign an access token (Ed25519)", runs * 50, () =>
  keys.sign({ role: "user" }, { issuer: "i", audience: "a", subject: "usr_x", ttlSeconds: 900 }),
);

console.log(
  "\nworkerd: see the sequential log-in latency that npm run bench prints for the workers target.",
);
void token;
