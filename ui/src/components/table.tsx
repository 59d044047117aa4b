import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiProblem } from "../api";
import { type Loaded, ProblemBox, useLoad } from "./ui";

/**
 * The one list of the dashboard: records, users, audit entries, keys, webhooks, deliveries,
 * sessions, collections, retention and routes are all a <Table> of columns over rows, with its
 * empty state, its loading and error state, and (with usePages) the API's cursor paging.
 */
export interface Column<T> {
  /** The cells' `data-field` (and the column's key). */
  key: string;
  title: ComponentChildren;
  cell: (row: T) => ComponentChildren;
  /** On the header and every cell (`num`, `pick`, `muted`…). */
  class?: string | ((row: T) => string | undefined);
  /** The header's aria-sort when the rows are sorted by this column. */
  sort?: "ascending" | "descending" | undefined;
}

/** A column of one button a row (revoke, replay), in the rows `has` admits. */
export function actionColumn<T>(
  text: string,
  onClick: (row: T) => void,
  { has = () => true, danger = false, disabled = false } = {} as {
    has?: (row: T) => boolean;
    danger?: boolean;
    disabled?: boolean;
  },
): Column<T> {
  return {
    key: "actions",
    title: <span class="sr-only">Actions</span>,
    cell: (row) =>
      has(row) && (
        <button
          type="button"
          class={danger ? "link danger" : "link"}
          disabled={disabled}
          onClick={() => onClick(row)}
        >
          {text}
        </button>
      ),
  };
}

/** A page of a cursor-paged list answer. */
export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
  total?: number;
}

export interface Paging {
  page: number;
  prev: (() => void) | undefined;
  next: (() => void) | undefined;
}

/** A loaded list answer ({ items }), paged or not, as useLoad or usePages give it. */
type LoadedList<T> = Loaded<{ items: T[] }> & { paging?: Paging };

export function Table<T>({
  label,
  columns,
  list,
  rows = list?.data?.items,
  rowKey = (row) => (row as { id: string }).id,
  rowAttr = "id",
  empty,
  loading = list?.loading ?? false,
  error = list?.error,
  onRetry = list?.reload,
  paging = list?.paging,
  class: className,
}: {
  label: string;
  columns: Column<T>[];
  /** The list answer: rows, loading, error and paging from it (each can be given instead). */
  list?: LoadedList<T>;
  /** Undefined while nothing is loaded yet. */
  rows?: readonly T[] | undefined;
  rowKey?: (row: T) => string;
  /** Each row carries its key as `data-<rowAttr>`. */
  rowAttr?: string;
  /** What an empty list says. */
  empty: ComponentChildren;
  loading?: boolean;
  error?: unknown;
  onRetry?: () => void;
  paging?: Paging;
  class?: string;
}) {
  const classOf = (c: Column<T>, row?: T) =>
    typeof c.class === "function" ? (row === undefined ? undefined : c.class(row)) : c.class;
  const note = (text: ComponentChildren) => (
    <tr>
      <td colSpan={columns.length} class="muted">
        {text}
      </td>
    </tr>
  );
  return (
    <>
      <ProblemBox error={error} onRetry={onRetry} />
      <div class="scroll">
        <table class={`grid ${className ?? ""}`} aria-busy={loading} aria-label={label}>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.key} scope="col" class={classOf(c)} aria-sort={c.sort}>
                  {c.title}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows?.map((row) => {
              const key = rowKey(row);
              return (
                <tr key={key} {...{ [`data-${rowAttr}`]: key }}>
                  {columns.map((c) => (
                    <td key={c.key} class={classOf(c, row)} data-field={c.key}>
                      {c.cell(row)}
                    </td>
                  ))}
                </tr>
              );
            })}
            {rows === undefined && loading && error === undefined && note("Loading…")}
            {rows?.length === 0 && error === undefined && note(empty)}
          </tbody>
        </table>
      </div>
      {paging !== undefined && (
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={paging.prev === undefined} onClick={paging.prev}>
            ← Previous
          </button>
          <span class="muted">Page {paging.page}</span>
          <button type="button" disabled={paging.next === undefined} onClick={paging.next}>
            Next →
          </button>
        </nav>
      )}
    </>
  );
}

/**
 * A cursor-paged list: loads the page at the current cursor; changed `deps` (a new filter)
 * start again at page 1. `restart()` goes back to page 1 and loads it again.
 */
export function usePages<T>(
  load: (cursor: string | undefined) => Promise<PageOf<T>>,
  deps: unknown[],
): Loaded<PageOf<T>> & { paging: Paging; cursor: string | undefined; restart: () => void } {
  const key = JSON.stringify(deps);
  const [state, setState] = useState<{ key: string; cursors: (string | undefined)[] }>({
    key,
    cursors: [undefined],
  });
  // New deps start at page 1 (and forget the old cursors, should the deps come back).
  if (state.key !== key) setState({ key, cursors: [undefined] });
  const cursors = state.key === key ? state.cursors : [undefined];
  const cursor = cursors.at(-1);
  const loaded = useLoad(() => load(cursor), [...deps, cursor]);
  const go = (cs: (string | undefined)[]) => setState({ key, cursors: cs });
  const next = loaded.data?.nextCursor;
  return {
    ...loaded,
    cursor,
    paging: {
      page: cursors.length,
      prev: cursors.length > 1 ? () => go(cursors.slice(0, -1)) : undefined,
      next: next ? () => go([...cursors, next]) : undefined,
    },
    restart: () => {
      if (cursors.length > 1) go([undefined]);
      else loaded.reload();
    },
  };
}

/** Where a filter error points: the API says "… (at character N)", N counted from 1. */
export function filterErrorPosition(error: unknown): number | undefined {
  if (!(error instanceof ApiProblem) || error.code !== "INVALID_FILTER") return;
  const m = /at character (\d+)/.exec(error.problem.detail ?? "");
  return m === null ? undefined : Number(m[1]) - 1;
}

/**
 * A list's search box: applies on submit (Enter or the button). Given the list's error, an
 * INVALID_FILTER points at its character under the box and selects it in the input.
 */
export function FilterBar({
  label = "Filter",
  name = "filter",
  button = "Apply",
  placeholder,
  applied,
  error,
  onApply,
  children,
}: {
  label?: string;
  name?: string;
  button?: string;
  placeholder: string;
  /** The filter the list was loaded with (the caret is drawn under it). */
  applied: string;
  error: unknown;
  onApply: (filter: string) => void;
  /** More controls in the bar (column pickers, a role select). */
  children?: ComponentChildren;
}) {
  const [draft, setDraft] = useState(applied);
  const input = useRef<HTMLInputElement>(null);
  const errorAt = filterErrorPosition(error);
  useEffect(() => {
    if (errorAt !== undefined && input.current !== null) {
      input.current.focus();
      input.current.setSelectionRange(errorAt, Math.min(errorAt + 1, applied.length));
    }
  }, [errorAt, applied]);
  return (
    <>
      <form
        class="filter"
        aria-label={label}
        onSubmit={(e) => {
          e.preventDefault();
          onApply(draft.trim());
        }}
      >
        <label class="grow">
          <span class="sr-only">{label}</span>
          <input
            ref={input}
            type="search"
            name={name}
            placeholder={placeholder}
            value={draft}
            spellcheck={false}
            aria-invalid={errorAt !== undefined}
            aria-describedby={errorAt !== undefined ? `${name}-error` : undefined}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
        </label>
        <button type="submit">{button}</button>
        {children}
      </form>
      {errorAt !== undefined && (
        <div class="filter-error" id={`${name}-error`}>
          <pre aria-hidden="true">
            {applied}
            {"\n"}
            {`${" ".repeat(errorAt)}^`}
          </pre>
        </div>
      )}
    </>
  );
}
