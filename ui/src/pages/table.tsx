import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiProblem, api, qs, request } from "../api";
import { cellText, Page, ProblemBox, useAction, useLoad, when } from "../components/ui";
import { href } from "../router";
import { type Collection, collections } from "../schema";

type Row = Record<string, unknown> & { id: string; expand?: Record<string, unknown> };
interface PageData {
  items: Row[];
  nextCursor: string | null;
  total?: number;
}

const pageSize = 25;

/** Where a filter error points: the API says "… (at character N)", N counted from 1. */
export function filterErrorPosition(error: unknown): number | undefined {
  if (!(error instanceof ApiProblem) || error.code !== "INVALID_FILTER") return;
  const m = /at character (\d+)/.exec(error.problem.detail ?? "");
  return m === null ? undefined : Number(m[1]) - 1;
}

export function TablePage({ name }: { name: string }) {
  const schema = useLoad(async () => {
    const c = (await collections()).get(name);
    if (c === undefined)
      throw new ApiProblem({
        title: "Unknown collection",
        status: 404,
        code: "UNKNOWN_COLLECTION",
        detail: `There is no collection named ${name}.`,
      });
    return c;
  }, [name]);
  return (
    <Page
      title={
        <>
          <a href="#/data">Data</a> / {name}
        </>
      }
      actions={
        schema.data?.canCreate && (
          <a class="button" href={href("data", name, "new")}>
            New record
          </a>
        )
      }
    >
      <ProblemBox error={schema.error} onRetry={schema.reload} />
      {schema.data !== undefined && <Browser key={name} collection={schema.data} />}
    </Page>
  );
}

function Browser({ collection }: { collection: Collection }) {
  const readable = collection.fields.filter((f) => f.readable);
  const [draft, setDraft] = useState("");
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState("-created");
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [columns, setColumns] = useState(() => readable.slice(0, 7).map((f) => f.name));
  const [expand, setExpand] = useState<string[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const input = useRef<HTMLInputElement>(null);
  const cursor = cursors.at(-1);
  const base = `/api/collections/${encodeURIComponent(collection.name)}/records`;

  const page = useLoad(
    () =>
      api<PageData>(
        base +
          qs({
            filter,
            sort,
            limit: pageSize,
            cursor,
            expand: expand.join(","),
            total: cursor === undefined,
          }),
      ),
    [filter, sort, cursor, expand.join(","), collection.name],
  );
  const [total, setTotal] = useState<number>();
  useEffect(() => {
    if (page.data?.total !== undefined) setTotal(page.data.total);
  }, [page.data]);

  const errorAt = filterErrorPosition(page.error);
  useEffect(() => {
    if (errorAt !== undefined && input.current !== null) {
      input.current.focus();
      input.current.setSelectionRange(errorAt, Math.min(errorAt + 1, filter.length));
    }
  }, [errorAt, filter]);

  const apply = (e: Event) => {
    e.preventDefault();
    setFilter(draft.trim());
    setCursors([undefined]);
    setSelected(new Set());
  };
  const sortBy = (field: string) => {
    setSort((s) => (s === field ? `-${field}` : field));
    setCursors([undefined]);
  };
  const batch = useAction();
  const deleteSelected = () => {
    if (!confirm(`Delete ${selected.size} record(s)? This cannot be undone.`)) return;
    void batch.run(async () => {
      await request("/api/batch", {
        method: "POST",
        json: {
          operations: [...selected].map((id) => ({
            method: "DELETE",
            collection: collection.name,
            id,
          })),
        },
      });
      setSelected(new Set());
      setTotal(undefined);
      setCursors([undefined]);
      page.reload();
    });
  };
  const items = page.data?.items ?? [];
  const shown = readable.filter((f) => columns.includes(f.name));
  const allChecked = items.length > 0 && items.every((r) => selected.has(r.id));

  return (
    <>
      <form class="filter" onSubmit={apply} aria-label="Filter">
        <label class="grow">
          <span class="sr-only">Filter</span>
          <input
            ref={input}
            type="search"
            name="filter"
            placeholder="Filter, e.g. status = 'published' && title ~ 'hello'"
            value={draft}
            spellcheck={false}
            aria-invalid={errorAt !== undefined}
            aria-describedby={errorAt !== undefined ? "filter-error" : undefined}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Apply</button>
        <details class="picker">
          <summary>Columns</summary>
          <fieldset>
            <legend class="sr-only">Columns shown</legend>
            {readable.map((f) => (
              <label key={f.name} class="check">
                <input
                  type="checkbox"
                  checked={columns.includes(f.name)}
                  // The last column stays: it links each row to its record.
                  disabled={columns.length === 1 && columns.includes(f.name)}
                  onChange={(e) =>
                    setColumns((cs) =>
                      e.currentTarget.checked ? [...cs, f.name] : cs.filter((c) => c !== f.name),
                    )
                  }
                />
                {f.name}
              </label>
            ))}
          </fieldset>
        </details>
        {collection.relations.length > 0 && (
          <details class="picker">
            <summary>Expand</summary>
            <fieldset>
              <legend class="sr-only">Relations to expand</legend>
              {collection.relations.map((r) => (
                <label key={r} class="check">
                  <input
                    type="checkbox"
                    name={`expand-${r}`}
                    checked={expand.includes(r)}
                    onChange={(e) =>
                      setExpand((xs) =>
                        e.currentTarget.checked ? [...xs, r] : xs.filter((x) => x !== r),
                      )
                    }
                  />
                  <span class="sr-only">Expand </span>
                  {r}
                </label>
              ))}
            </fieldset>
          </details>
        )}
      </form>
      {errorAt !== undefined && (
        <div class="filter-error" id="filter-error">
          <pre aria-hidden="true">
            {filter}
            {"\n"}
            {`${" ".repeat(errorAt)}^`}
          </pre>
        </div>
      )}
      <ProblemBox error={page.error} onRetry={page.reload} />
      <ProblemBox error={batch.error} />
      <div class="toolbar">
        <span class="muted" data-testid="count">
          {page.error === undefined && total !== undefined && (
            <>
              {total} record{total === 1 ? "" : "s"}
              {filter !== "" && " matching the filter"}
            </>
          )}
        </span>
        {selected.size > 0 && collection.canDelete && (
          <button type="button" class="danger" onClick={deleteSelected} disabled={batch.busy}>
            Delete {selected.size} selected
          </button>
        )}
      </div>
      <div class="scroll">
        <table
          class="grid records"
          aria-busy={page.loading}
          aria-label={`${collection.name} records`}
        >
          <thead>
            <tr>
              <th scope="col" class="pick">
                <input
                  type="checkbox"
                  aria-label="Select every record on this page"
                  checked={allChecked}
                  onChange={(e) =>
                    setSelected(
                      e.currentTarget.checked ? new Set(items.map((r) => r.id)) : new Set(),
                    )
                  }
                />
              </th>
              {shown.map((f) => (
                <th
                  key={f.name}
                  scope="col"
                  aria-sort={
                    sort === f.name ? "ascending" : sort === `-${f.name}` ? "descending" : undefined
                  }
                >
                  {f.sortable ? (
                    <button type="button" class="sort" onClick={() => sortBy(f.name)}>
                      {f.name}
                      {sort === f.name ? " ▲" : sort === `-${f.name}` ? " ▼" : ""}
                    </button>
                  ) : (
                    f.name
                  )}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((row) => (
              <tr key={row.id} data-id={row.id}>
                <td class="pick">
                  <input
                    type="checkbox"
                    aria-label={`Select ${row.id}`}
                    checked={selected.has(row.id)}
                    onChange={(e) => {
                      const next = new Set(selected);
                      if (e.currentTarget.checked) next.add(row.id);
                      else next.delete(row.id);
                      setSelected(next);
                    }}
                  />
                </td>
                {shown.map((f, i) => (
                  <td key={f.name} data-field={f.name}>
                    {i === 0 ? (
                      <a href={href("data", collection.name, row.id)}>{cellText(row[f.name])}</a>
                    ) : (
                      <Cell
                        row={row}
                        field={f.name}
                        relation={f.relation}
                        date={f.kind === "datetime"}
                      />
                    )}
                  </td>
                ))}
              </tr>
            ))}
            {!page.loading && items.length === 0 && page.error === undefined && (
              <tr>
                <td colSpan={shown.length + 1} class="muted">
                  No records{filter !== "" && " match this filter"}.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled={cursors.length === 1}
          onClick={() => setCursors((cs) => cs.slice(0, -1))}
        >
          ← Previous
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => setCursors((cs) => [...cs, page.data!.nextCursor!])}
        >
          Next →
        </button>
      </nav>
    </>
  );
}

function Cell({
  row,
  field,
  relation,
  date,
}: {
  row: Row;
  field: string;
  relation?: string | undefined;
  date: boolean;
}) {
  const value = row[field];
  const expanded = row.expand?.[field] as Record<string, unknown> | null | undefined;
  const label = useMemo(() => {
    if (expanded === undefined || expanded === null) return undefined;
    const name = Object.entries(expanded).find(
      ([k, v]) => typeof v === "string" && !["id", "created", "updated"].includes(k),
    );
    return name === undefined ? String(expanded.id) : `${name[1] as string}`;
  }, [expanded]);
  if (relation !== undefined && typeof value === "string" && value !== "") {
    return (
      <a href={href("data", relation, value)} title={value}>
        {label !== undefined ? cellText(label, 40) : value}
        {expanded === null && <span class="muted"> (gone or hidden)</span>}
      </a>
    );
  }
  if (date && typeof value === "string")
    return (
      <time dateTime={value} title={value}>
        {when(value)}
      </time>
    );
  return <span title={typeof value === "string" ? value : undefined}>{cellText(value)}</span>;
}
