import { useEffect, useMemo, useState } from "preact/hooks";
import { api, qs, request } from "../api";
import { FileCell } from "../components/files";
import { type Column, FilterBar, type PageOf, Table, usePages } from "../components/table";
import { cellText, Page, ProblemBox, useAction, useLoad, when } from "../components/ui";
import { href } from "../router";
import { type Collection, collectionNamed, type Field, thumbFor } from "../schema";

type Row = Record<string, unknown> & { id: string; expand?: Record<string, unknown> };

const pageSize = 25;

export function TablePage({ name }: { name: string }) {
  const schema = useLoad(() => collectionNamed(name), [name]);
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
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState("-created");
  // The first seven fields, and the file fields (their thumbnails say much at a glance).
  const [columns, setColumns] = useState(() =>
    readable.filter((f, i) => i < 7 || f.kind === "file").map((f) => f.name),
  );
  const [expand, setExpand] = useState<string[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const base = `/api/collections/${encodeURIComponent(collection.name)}/records`;

  const page = usePages(
    (cursor) =>
      api<PageOf<Row>>(
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
    [filter, sort, expand.join(","), collection.name],
  );
  const [total, setTotal] = useState<number>();
  useEffect(() => {
    if (page.data?.total !== undefined) setTotal(page.data.total);
  }, [page.data]);

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
      page.restart();
    });
  };
  const items = page.data?.items ?? [];
  const allChecked = items.length > 0 && items.every((r) => selected.has(r.id));
  const pick: Column<Row> = {
    key: "pick",
    class: "pick",
    title: (
      <input
        type="checkbox"
        aria-label="Select every record on this page"
        checked={allChecked}
        onChange={(e) =>
          setSelected(e.currentTarget.checked ? new Set(items.map((r) => r.id)) : new Set())
        }
      />
    ),
    cell: (row) => (
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
    ),
  };
  const fieldColumns = readable
    .filter((f) => columns.includes(f.name))
    .map(
      (f, i): Column<Row> => ({
        key: f.name,
        sort: sort === f.name ? "ascending" : sort === `-${f.name}` ? "descending" : undefined,
        title: f.sortable ? (
          <button
            type="button"
            class="sort"
            onClick={() => setSort((s) => (s === f.name ? `-${f.name}` : f.name))}
          >
            {f.name}
            {sort === f.name ? " ▲" : sort === `-${f.name}` ? " ▼" : ""}
          </button>
        ) : (
          f.name
        ),
        cell: (row) =>
          i === 0 ? (
            <a href={href("data", collection.name, row.id)}>{cellText(row[f.name])}</a>
          ) : (
            <Cell row={row} collection={collection.name} field={f} />
          ),
      }),
    );

  return (
    <>
      <FilterBar
        placeholder="Filter, e.g. status = 'published' && title ~ 'hello'"
        applied={filter}
        error={page.error}
        onApply={(f) => {
          setFilter(f);
          setSelected(new Set());
        }}
      >
        <Checks
          summary="Columns"
          legend="Columns shown"
          options={readable.map((f) => f.name)}
          checked={columns}
          onChange={setColumns}
          // The last column stays: it links each row to its record.
          keep
        />
        {collection.relations.length > 0 && (
          <Checks
            summary="Expand"
            legend="Relations to expand"
            options={collection.relations}
            checked={expand}
            onChange={setExpand}
            name="expand"
          />
        )}
      </FilterBar>
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
      <Table
        class="records"
        label={`${collection.name} records`}
        columns={[pick, ...fieldColumns]}
        list={page}
        empty={`No records${filter !== "" ? " match this filter" : ""}.`}
      />
    </>
  );
}

/** A dropdown of checkboxes (the columns shown, the relations expanded). */
function Checks({
  summary,
  legend,
  options,
  checked,
  onChange,
  name,
  keep = false,
}: {
  summary: string;
  legend: string;
  options: string[];
  checked: string[];
  onChange: (checked: string[]) => void;
  /** Inputs named `<name>-<option>`, labelled "Expand <option>" for screen readers. */
  name?: string;
  /** The last checked option cannot be unchecked. */
  keep?: boolean;
}) {
  return (
    <details class="picker">
      <summary>{summary}</summary>
      <fieldset>
        <legend class="sr-only">{legend}</legend>
        {options.map((o) => (
          <label key={o} class="check">
            <input
              type="checkbox"
              name={name === undefined ? undefined : `${name}-${o}`}
              checked={checked.includes(o)}
              disabled={keep && checked.length === 1 && checked.includes(o)}
              onChange={(e) =>
                onChange(e.currentTarget.checked ? [...checked, o] : checked.filter((c) => c !== o))
              }
            />
            {name !== undefined && <span class="sr-only">{summary} </span>}
            {o}
          </label>
        ))}
      </fieldset>
    </details>
  );
}

function Cell({ row, collection, field }: { row: Row; collection: string; field: Field }) {
  const { name, relation } = field;
  const value = row[name];
  const expanded = row.expand?.[name] as Record<string, unknown> | null | undefined;
  const label = useMemo(() => {
    if (expanded === undefined || expanded === null) return undefined;
    const found = Object.entries(expanded).find(
      ([k, v]) => typeof v === "string" && !["id", "created", "updated"].includes(k),
    );
    return found === undefined ? String(expanded.id) : `${found[1] as string}`;
  }, [expanded]);
  if (relation !== undefined && typeof value === "string" && value !== "") {
    return (
      <a href={href("data", relation, value)} title={value}>
        {label !== undefined ? cellText(label, 40) : value}
        {expanded === null && <span class="muted"> (gone or hidden)</span>}
      </a>
    );
  }
  if (field.kind === "file")
    return (
      // 2rem cells: a crop of at least 64 px stays sharp on a 2× screen.
      <FileCell
        collection={collection}
        id={row.id}
        value={value}
        thumb={thumbFor(field.file, 64)}
      />
    );
  if (field.kind === "datetime" && typeof value === "string")
    return (
      <time dateTime={value} title={value}>
        {when(value)}
      </time>
    );
  return <span title={typeof value === "string" ? value : undefined}>{cellText(value)}</span>;
}
