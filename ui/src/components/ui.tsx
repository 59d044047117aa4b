import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiProblem, type Problem } from "../api";

/** An error as the person reading it needs it: the problem's title, detail and request id. */
export function ProblemBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (error === undefined || error === null) return null;
  const p: Problem =
    error instanceof ApiProblem
      ? error.problem
      : { title: "Something went wrong", status: 0, code: "CLIENT", detail: String(error) };
  return (
    <div class="problem" role="alert" data-code={p.code}>
      <strong>{p.title}</strong>
      {p.detail !== undefined && p.detail !== p.title && <span> — {p.detail}</span>}
      {p.errors !== undefined && p.errors.length > 0 && (
        <ul>
          {p.errors.map((e) => (
            <li key={e.path + e.message}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
      <small class="muted">
        {" "}
        {p.code}
        {p.requestId !== undefined && ` · request ${p.requestId}`}
      </small>
      {onRetry !== undefined && (
        <button type="button" class="link" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads on mount and whenever `deps` change; `reload()` loads again. Data loaded for other deps
 * is never shown (a record page switching ids does not show the previous record meanwhile).
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const key = JSON.stringify(deps);
  const [state, setState] = useState<{ key?: string; data?: T; error?: unknown; loading: boolean }>(
    { loading: true },
  );
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ key, data, loading: false }),
      (error) => live && setState({ key, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const current = state.key === key;
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : undefined,
    loading: state.loading || !current,
    reload,
  };
}

/** An action button's state: running, and the last error. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

export function Page({
  title,
  actions,
  children,
}: {
  title: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <section class="page">
      <header class="page-head">
        <h1>{title}</h1>
        {actions !== undefined && <div class="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export const when = (iso: string | null | undefined) =>
  iso === null || iso === undefined ? "—" : new Date(iso).toLocaleString();

/** A cell's text: strings as they are, everything else as compact JSON, cut at `max`. */
export function cellText(value: unknown, max = 80): string {
  const s =
    value === null || value === undefined
      ? ""
      : typeof value === "string"
        ? value
        : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
