import type { Client, InStatement } from "@libsql/client";

/** A small deterministic PRNG (mulberry32), so every seeded dataset is the same. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const words =
  "edge cache latency replica turso worker region cold start index query sqlite hono drizzle token rule filter cursor batch webhook".split(
    " ",
  );
const pad = (n: number, width = 6) => String(n).padStart(width, "0");
export const seedUserId = (i: number) => `usr_seed${pad(i)}`;
export const seedPostId = (i: number) => `pst_seed${pad(i)}`;

/**
 * Demo data through plain SQL: `users` authors (ids usr_seed000000…), `posts` posts (80 %
 * published), two comments on every fifth post, a profile per user and some bookmarks. Same
 * input, same rows, so benchmark runs are comparable.
 */
export async function seed(client: Client, sizes: { users: number; posts: number }) {
  const rand = prng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const start = Date.UTC(2026, 0, 1);
  const at = (i: number) => new Date(start + i * 60_000).toISOString();
  const statements: InStatement[] = [];
  for (let u = 0; u < sizes.users; u++) {
    statements.push({
      sql: "INSERT OR IGNORE INTO profiles (id, created, updated, rev, user, display_name, bio, email) VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
      args: [
        `prf_seed${pad(u)}`,
        at(u),
        at(u),
        seedUserId(u),
        `User ${u}`,
        `Writes about ${pick(words)}.`,
        `user${u}@example.com`,
      ],
    });
  }
  for (let p = 0; p < sizes.posts; p++) {
    const title = `${pick(words)} ${pick(words)} ${pick(words)} #${p}`;
    const status = rand() < 0.8 ? "published" : "draft";
    const tags = JSON.stringify(
      [pick(words), pick(words)].filter((t, i, all) => all.indexOf(t) === i),
    );
    statements.push({
      sql: "INSERT OR IGNORE INTO posts (id, created, updated, rev, title, body, status, tags, author) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)",
      args: [
        seedPostId(p),
        at(p),
        at(p),
        title,
        `${title}. ${pick(words)} ${pick(words)}.`,
        status,
        tags,
        seedUserId(p % sizes.users),
      ],
    });
    if (p % 5 === 0) {
      for (let c = 0; c < 2; c++) {
        statements.push({
          sql: "INSERT OR IGNORE INTO comments (id, created, updated, rev, post, author, body) VALUES (?, ?, ?, 1, ?, ?, ?)",
          args: [
            `cmt_seed${pad(p)}${c}`,
            at(p + c),
            at(p + c),
            seedPostId(p),
            seedUserId((p + c + 1) % sizes.users),
            `Nice post about ${pick(words)}`,
          ],
        });
      }
    }
    if (p % 7 === 0) {
      statements.push({
        sql: "INSERT OR IGNORE INTO bookmarks (id, created, updated, rev, user, post, note) VALUES (?, ?, ?, 1, ?, ?, '')",
        args: [`bkm_seed${pad(p)}`, at(p), at(p), seedUserId((p + 3) % sizes.users), seedPostId(p)],
      });
    }
  }
  for (let i = 0; i < statements.length; i += 500) {
    await client.batch(statements.slice(i, i + 500), "write");
  }
  return { statements: statements.length };
}
