import { useState } from "preact/hooks";
import { ApiProblem, request } from "../api";
import { Page, ProblemBox, useAction, useLoad, when } from "../components/ui";
import { href, navigate } from "../router";
import { type Collection, collections, type Field } from "../schema";

type Values = Record<string, unknown>;

/** A field's value as the form holds it (strings for inputs, JSON text for lists/objects). */
function toInput(f: Field, v: unknown): string | boolean {
  if (f.kind === "boolean") return v === true;
  if (v === null || v === undefined) return "";
  if (f.kind === "json") return JSON.stringify(v, null, 2);
  return String(v);
}

/** The form's value back to JSON for the API; throws a message for unreadable input. */
function fromInput(f: Field, v: string | boolean): unknown {
  if (f.kind === "boolean") return v === true;
  const s = String(v);
  if (s === "" && f.nullable) return null;
  switch (f.kind) {
    case "number":
    case "integer": {
      const n = Number(s);
      if (s.trim() === "" || !Number.isFinite(n)) throw new Error("not a number");
      if (f.kind === "integer" && !Number.isInteger(n)) throw new Error("not a whole number");
      return n;
    }
    case "json":
      try {
        return JSON.parse(s);
      } catch {
        throw new Error("not valid JSON");
      }
    default:
      return s;
  }
}

export function RecordPage({ name, id }: { name: string; id: string }) {
  const isNew = id === "new";
  // Kept here: a save reloads the record, which gives the editor a new key (the new ETag).
  const [saved, setSaved] = useState<string>();
  const loaded = useLoad(async () => {
    const collection = (await collections()).get(name);
    if (collection === undefined)
      throw new ApiProblem({
        title: "Unknown collection",
        status: 404,
        code: "UNKNOWN_COLLECTION",
        detail: `There is no collection named ${name}.`,
      });
    if (isNew) return { collection, record: {} as Values, etag: undefined };
    const answer = await request<Values>(
      `/api/collections/${encodeURIComponent(name)}/records/${encodeURIComponent(id)}`,
    );
    return { collection, record: answer.data, etag: answer.headers.get("etag") ?? undefined };
  }, [name, id]);
  return (
    <Page
      title={
        <>
          <a href="#/data">Data</a> / <a href={href("data", name)}>{name}</a> / {isNew ? "new" : id}
        </>
      }
    >
      <ProblemBox error={loaded.error} onRetry={loaded.reload} />
      {saved === `${name}/${id}` && (
        <p class="ok" role="status">
          Saved.
        </p>
      )}
      {loaded.data !== undefined && (
        <Editor
          key={`${id}:${loaded.data.etag}`}
          collection={loaded.data.collection}
          record={loaded.data.record}
          etag={loaded.data.etag}
          isNew={isNew}
          onReload={() => {
            setSaved(undefined);
            loaded.reload();
          }}
          onSaved={() => {
            setSaved(`${name}/${id}`);
            loaded.reload();
          }}
        />
      )}
    </Page>
  );
}

function Editor({
  collection,
  record,
  etag,
  isNew,
  onReload,
  onSaved,
}: {
  collection: Collection;
  record: Values;
  etag: string | undefined;
  isNew: boolean;
  onReload: () => void;
  onSaved: () => void;
}) {
  const fields = collection.fields.filter((f) => (isNew ? f.onCreate : f.readable || f.onUpdate));
  const [values, setValues] = useState<Record<string, string | boolean>>(() =>
    Object.fromEntries(fields.map((f) => [f.name, toInput(f, record[f.name])])),
  );
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [conflict, setConflict] = useState(false);
  const save = useAction();
  const remove = useAction();
  const base = `/api/collections/${encodeURIComponent(collection.name)}/records`;
  const url = `${base}/${encodeURIComponent(String(record.id ?? ""))}`;

  const serverErrors: Record<string, string> = {};
  if (save.error instanceof ApiProblem)
    for (const e of save.error.problem.errors ?? [])
      serverErrors[e.path.replace(/^\//, "").split("/")[0] ?? ""] = e.message;

  const editable = (f: Field) => (isNew ? f.onCreate : f.onUpdate);

  const submit = (e: Event) => {
    e.preventDefault();
    const body: Values = {};
    const errors: Record<string, string> = {};
    for (const f of fields) {
      if (!editable(f)) continue;
      // Updates send what changed; creates send what was filled in (and required fields).
      if (!touched.has(f.name) && !(isNew && f.requiredOnCreate)) continue;
      try {
        body[f.name] = fromInput(f, values[f.name] ?? "");
      } catch (err) {
        errors[f.name] = (err as Error).message;
      }
    }
    setClientErrors(errors);
    if (Object.keys(errors).length > 0) return;
    void save.run(async () => {
      try {
        if (isNew) {
          const created = await request<Values>(base, { method: "POST", json: body });
          navigate(href("data", collection.name, String(created.data.id)));
          return;
        }
        await request(url, {
          method: "PATCH",
          json: body,
          headers: etag === undefined ? {} : { "if-match": etag },
        });
        onSaved();
      } catch (err) {
        if (err instanceof ApiProblem && err.status === 412) setConflict(true);
        throw err;
      }
    });
  };

  const del = () => {
    if (!confirm(`Delete ${String(record.id)}? This cannot be undone.`)) return;
    void remove.run(async () => {
      try {
        await request(url, {
          method: "DELETE",
          headers: etag === undefined ? {} : { "if-match": etag },
        });
        navigate(href("data", collection.name));
      } catch (err) {
        if (err instanceof ApiProblem && err.status === 412) setConflict(true);
        throw err;
      }
    });
  };

  return (
    <form class="editor" onSubmit={submit} aria-label={isNew ? "New record" : "Edit record"}>
      {conflict && (
        <div class="conflict" role="alert">
          <strong>This record changed since you opened it</strong> (412 Precondition failed). Your
          changes were not saved. Reload to see the current version, then edit again.
          <button type="button" onClick={onReload}>
            Reload the record
          </button>
        </div>
      )}
      {!conflict && <ProblemBox error={save.error} />}
      <ProblemBox
        error={
          remove.error instanceof ApiProblem && remove.error.status === 412
            ? undefined
            : remove.error
        }
      />
      {!isNew && (
        <dl class="meta">
          <dt>id</dt>
          <dd>{String(record.id)}</dd>
          <dt>created</dt>
          <dd>{when(record.created as string)}</dd>
          <dt>updated</dt>
          <dd>{when(record.updated as string)}</dd>
        </dl>
      )}
      {fields
        .filter((f) => !["id", "created", "updated"].includes(f.name))
        .map((f) => (
          <FieldInput
            key={f.name}
            field={f}
            value={values[f.name] ?? ""}
            readOnly={!editable(f)}
            note={
              editable(f)
                ? !f.readable
                  ? "write-only: leave empty to keep"
                  : undefined
                : f.onCreate && !isNew
                  ? "immutable: set on create"
                  : "read-only"
            }
            required={isNew && f.requiredOnCreate}
            error={clientErrors[f.name] ?? serverErrors[f.name]}
            onChange={(v) => {
              setValues((vs) => ({ ...vs, [f.name]: v }));
              setTouched((t) => new Set(t).add(f.name));
            }}
          />
        ))}
      <div class="actions">
        {(isNew ? collection.canCreate : collection.canUpdate) && (
          <button type="submit" disabled={save.busy || conflict}>
            {save.busy ? "Saving…" : isNew ? "Create" : "Save"}
          </button>
        )}
        {!isNew && collection.canDelete && (
          <button type="button" class="danger" onClick={del} disabled={remove.busy}>
            Delete
          </button>
        )}
      </div>
    </form>
  );
}

function FieldInput({
  field: f,
  value,
  readOnly,
  note,
  required,
  error,
  onChange,
}: {
  field: Field;
  value: string | boolean;
  readOnly: boolean;
  note: string | undefined;
  required: boolean;
  error: string | undefined;
  onChange: (v: string | boolean) => void;
}) {
  const id = `field-${f.name}`;
  const described = error !== undefined ? `${id}-error` : undefined;
  const common = {
    id,
    name: f.name,
    disabled: readOnly,
    required,
    "aria-invalid": error !== undefined,
    "aria-describedby": described,
  };
  let input: preact.ComponentChildren;
  if (f.kind === "boolean") {
    input = (
      <input
        {...common}
        type="checkbox"
        checked={value === true}
        onChange={(e) => onChange(e.currentTarget.checked)}
      />
    );
  } else if (f.kind === "enum") {
    input = (
      <select {...common} value={String(value)} onChange={(e) => onChange(e.currentTarget.value)}>
        {(f.nullable || !required) && <option value="">—</option>}
        {f.enum?.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (f.kind === "json" || f.kind === "longtext") {
    input = (
      <textarea
        {...common}
        rows={f.kind === "json" ? 4 : 6}
        spellcheck={f.kind !== "json"}
        class={f.kind === "json" ? "code" : undefined}
        value={String(value)}
        maxLength={f.maxLength}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  } else {
    const numeric = f.kind === "number" || f.kind === "integer";
    input = numeric ? (
      <input
        {...common}
        type="number"
        step={f.kind === "number" ? "any" : "1"}
        value={String(value)}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    ) : (
      <input
        {...common}
        type="text"
        placeholder={f.kind === "datetime" ? "2026-01-31T12:00:00Z" : undefined}
        value={String(value)}
        maxLength={f.maxLength}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  }
  return (
    <div class={`field ${f.kind === "boolean" ? "inline" : ""}`}>
      <label for={id}>
        {f.name}
        {required && <span aria-hidden="true"> *</span>}
        <span class="muted kind">
          {" "}
          {f.enum !== undefined ? "enum" : f.kind}
          {f.relation !== undefined && ` → ${f.relation}`}
          {f.nullable && ", nullable"}
          {note !== undefined && ` · ${note}`}
        </span>
      </label>
      {input}
      {error !== undefined && (
        <span class="field-error" id={described}>
          {error}
        </span>
      )}
    </div>
  );
}
