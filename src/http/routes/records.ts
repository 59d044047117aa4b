import { Hono } from "hono";
import { recordEtag } from "../../core/records/ids";
import {
  listQueryParams,
  refuseUnknownParams,
  viewQueryParams,
} from "../../core/records/list-params";
import { readJsonObject } from "../body";
import { type AppEnv, jsonAnswer } from "../context";
import { batchWithFiles, createWithFiles, isMultipart, updateWithFiles } from "./files";

/**
 * The REST API over every collection: list/view/create/update/delete under
 * /api/collections/:name/records, and atomic multi-record writes at /api/batch. Each handler
 * parses the request, calls the record service and shapes the answer; the edge layer (cache,
 * read-your-writes) reads `c.get("readOptions")` and `c.get("wrote")` around it.
 */
export function collectionRoutes() {
  const app = new Hono<AppEnv>();

  app.get("/api/collections/:name/records", async (c) => {
    const { records } = c.get("services");
    // The query string parsed once (each `c.req.query(n)` scans the URL again); the first value
    // of a repeated parameter, as `c.req.query` answers.
    const query = c.req.queries();
    refuseUnknownParams(Object.keys(query), listQueryParams);
    const page = await records.list(
      c.get("principal"),
      c.req.param("name"),
      (n) => query[n]?.[0],
      c.get("readOptions"),
    );
    return jsonAnswer(c, page);
  });

  app.get("/api/collections/:name/records/:id", async (c) => {
    const { records } = c.get("services");
    // Parsed once, as in the list: the first value of a repeated parameter, as `c.req.query`.
    const query = c.req.queries();
    refuseUnknownParams(Object.keys(query), viewQueryParams);
    const id = c.req.param("id");
    const { record, rev, partial, expanded } = await records.view(
      c.get("principal"),
      c.req.param("name"),
      id,
      { fields: query.fields?.[0], expand: query.expand?.[0] },
      c.get("readOptions"),
    );
    // An expansion reads other records, whose changes the revision does not count: then the
    // edge layer tags the body itself.
    if (!expanded) c.header("etag", partial ? `W/${recordEtag(id, rev)}` : recordEtag(id, rev));
    return jsonAnswer(c, record);
  });

  app.post("/api/collections/:name/records", async (c) => {
    const name = c.req.param("name");
    c.get("services").records.target(name);
    if (isMultipart(c)) return createWithFiles(c, name);
    const { value, versions } = await c
      .get("services")
      .records.create(c.get("principal"), name, await readJsonObject(c));
    const { record, rev } = value;
    c.set("wrote", versions);
    c.header("etag", recordEtag(record.id as string, rev));
    c.header("location", `/api/collections/${name}/records/${record.id}`);
    return c.json(record, 201);
  });

  app.patch("/api/collections/:name/records/:id", async (c) => {
    const name = c.req.param("name");
    const id = c.req.param("id");
    c.get("services").records.target(name, id);
    if (isMultipart(c)) return updateWithFiles(c, name, id);
    const { value, versions } = await c
      .get("services")
      .records.update(c.get("principal"), name, id, await readJsonObject(c), {
        ifMatch: c.req.header("if-match"),
      });
    const { record, rev } = value;
    c.set("wrote", versions);
    c.header("etag", recordEtag(id, rev));
    return c.json(record);
  });

  app.delete("/api/collections/:name/records/:id", async (c) => {
    const { versions } = await c
      .get("services")
      .records.remove(c.get("principal"), c.req.param("name"), c.req.param("id"), {
        ifMatch: c.req.header("if-match"),
      });
    c.set("wrote", versions);
    // The delete enqueued its files (a trigger, same transaction): remove them now.
    const { files, records } = c.get("services");
    if (files.fieldsOf(records.target(c.req.param("name"))).length > 0)
      c.get("platform").defer(c, files.sweep());
    return c.body(null, 204);
  });

  app.post("/api/batch", async (c) => {
    if (isMultipart(c)) return batchWithFiles(c);
    const { value: results, versions } = await c
      .get("services")
      .records.batch(c.get("principal"), await readJsonObject(c));
    c.set("wrote", versions);
    return c.json({ results });
  });

  return app;
}
