// The floor of a database read in workerd (bench:workers-cpu, bench/workers/profile-reads.ts): a
// hello-world Hono worker that makes the one HTTP subrequest a read needs — a Hrana pipeline to
// the libSQL server (execute + close, what @libsql/client's `execute` sends) — and answers its
// rows as JSON. ?q=one selects one post by id, anything else a page of 20 published posts.
import { Hono } from "hono";

type Value = { type: string; value?: string };
interface Pipeline {
  results: {
    type: "ok" | "error";
    response?: { result?: { cols: { name: string }[]; rows: Value[][] } };
  }[];
}

const app = new Hono<{ Bindings: { DATABASE_URL: string } }>();
app.get("*", async (c) => {
  const one = c.req.query("q") === "one";
  const stmt = one
    ? {
        sql: "SELECT * FROM posts WHERE id = ?",
        args: [{ type: "text", value: "pst_bench000000" }],
      }
    : {
        sql: "SELECT * FROM posts WHERE status = 'published' ORDER BY created DESC, id DESC LIMIT 21",
        args: [],
      };
  const res = await fetch(`${c.env.DATABASE_URL}/v3/pipeline`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ baton: null, requests: [{ type: "execute", stmt }, { type: "close" }] }),
  });
  const body = (await res.json()) as Pipeline;
  const result = body.results[0]?.response?.result;
  if (result === undefined) return c.json({ error: "no result" }, 500);
  const items = result.rows.map((row) =>
    Object.fromEntries(row.map((v, i) => [result.cols[i]!.name, v.value ?? null])),
  );
  return c.json(one ? items[0] : { items });
});
export default app;
