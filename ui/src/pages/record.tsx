import { useState } from "preact/hooks";
import { type Answer, ApiProblem, request } from "../api";
import { fileNames, fileUrl, isImage, openFile, Thumb } from "../components/files";
import { Page, ProblemBox, useAction, useLoad, when } from "../components/ui";
import { href, navigate } from "../router";
import { type Collection, collectionNamed, type Field } from "../schema";

type Values = Record<string, unknown>;
type Inputs = Record<string, string | boolean>;

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

interface Saved {
  record: Values;
  etag: string | undefined;
}

/** A create's answer, handed to the record page it navigates to (no GET after a POST). */
const created = new Map<string, Saved>();

const savedFrom = (answer: Answer<Values>): Saved => ({
  record: answer.data,
  etag: answer.headers.get("etag") ?? undefined,
});

export function RecordPage({ name, id }: { name: string; id: string }) {
  const isNew = id === "new";
  const loaded = useLoad(async () => {
    const collection = await collectionNamed(name);
    if (isNew) return { collection, record: {} as Values, etag: undefined, fresh: false };
    const handed = created.get(`${name}/${id}`);
    created.delete(`${name}/${id}`);
    if (handed !== undefined) return { collection, ...handed, fresh: true };
    const answer = await request<Values>(
      `/api/collections/${encodeURIComponent(name)}/records/${encodeURIComponent(id)}`,
    );
    return { collection, ...savedFrom(answer), fresh: false };
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
      {/* A reload (after a 412) mounts a new editor on what it read; a save does not reload. */}
      {loaded.data !== undefined && !loaded.loading && (
        <Editor
          key={id}
          collection={loaded.data.collection}
          loaded={loaded.data}
          notice={loaded.data.fresh ? "Created." : undefined}
          isNew={isNew}
          onReload={loaded.reload}
        />
      )}
    </Page>
  );
}

/** What the save sends of a file field: new files, and names to remove. */
interface FileEdit {
  add: File[];
  remove: string[];
}

function Editor({
  collection,
  loaded,
  notice: firstNotice,
  isNew,
  onReload,
}: {
  collection: Collection;
  loaded: Saved;
  notice: string | undefined;
  isNew: boolean;
  onReload: () => void;
}) {
  const fields = collection.fields.filter((f) => (isNew ? f.onCreate : f.readable || f.onUpdate));
  // The record as the API last answered (read, or the answer to the last save) and its ETag.
  const [{ record, etag }, setSaved] = useState(loaded);
  const inputsOf = (r: Values): Inputs =>
    Object.fromEntries(fields.map((f) => [f.name, toInput(f, r[f.name])]));
  const [values, setValues] = useState<Inputs>(() => inputsOf(record));
  const [files, setFiles] = useState<Record<string, FileEdit>>({});
  const [notice, setNotice] = useState(firstNotice);
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
  const fileEdit = (name: string): FileEdit => files[name] ?? { add: [], remove: [] };

  const submit = (e: Event) => {
    e.preventDefault();
    const body: Values = {};
    const errors: Record<string, string> = {};
    const baseline = inputsOf(record);
    for (const f of fields) {
      if (!editable(f) || f.kind === "file") continue;
      // Updates send what changed; creates send what was filled in (and required fields).
      if (values[f.name] === baseline[f.name] && !(isNew && f.requiredOnCreate)) continue;
      try {
        body[f.name] = fromInput(f, values[f.name] ?? "");
      } catch (err) {
        errors[f.name] = (err as Error).message;
      }
    }
    setClientErrors(errors);
    if (Object.keys(errors).length > 0) return;
    const sent = values;
    const sentFiles = files;
    const headers: Record<string, string> = etag === undefined ? {} : { "if-match": etag };
    const form = uploadForm(collection, body, sentFiles);
    setNotice(undefined);
    void save.run(async () => {
      let answer: Answer<Values>;
      try {
        answer = await request<Values>(isNew ? base : url, {
          method: isNew ? "POST" : "PATCH",
          ...(form === undefined ? { json: body } : { form }),
          headers,
        });
      } catch (err) {
        if (err instanceof ApiProblem && err.status === 412) setConflict(true);
        throw err;
      }
      if (isNew) {
        const id = String(answer.data.id);
        created.set(`${collection.name}/${id}`, savedFrom(answer));
        navigate(href("data", collection.name, id));
        return;
      }
      // The answer is the record now: fields not edited meanwhile show it; what was typed
      // while the save ran stays, and the next save sends it with this answer's ETag.
      const next = savedFrom(answer);
      const now = inputsOf(next.record);
      setSaved(next);
      setValues((vs) =>
        Object.fromEntries(
          fields.map((f) => [
            f.name,
            vs[f.name] === sent[f.name] ? (now[f.name] ?? "") : (vs[f.name] ?? ""),
          ]),
        ),
      );
      setFiles((fs) => {
        const left: Record<string, FileEdit> = {};
        for (const [name, edit] of Object.entries(fs)) {
          const done = sentFiles[name];
          left[name] = {
            add: edit.add.filter((file) => !done?.add.includes(file)),
            remove: edit.remove.filter((n) => !done?.remove.includes(n)),
          };
        }
        return left;
      });
      setNotice("Saved.");
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
      {notice !== undefined && (
        <p class="ok" role="status">
          {notice}
        </p>
      )}
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
        .map((f) => {
          const note = editable(f)
            ? !f.readable
              ? "write-only: leave empty to keep"
              : undefined
            : f.onCreate && !isNew
              ? "immutable: set on create"
              : "read-only";
          const error = clientErrors[f.name] ?? serverErrors[f.name];
          return f.kind === "file" ? (
            <FilesInput
              key={f.name}
              field={f}
              collection={collection.name}
              id={isNew ? undefined : String(record.id)}
              names={fileNames(record[f.name])}
              edit={fileEdit(f.name)}
              readOnly={!editable(f)}
              error={error}
              onChange={(edit) => setFiles((fs) => ({ ...fs, [f.name]: edit }))}
            />
          ) : (
            <FieldInput
              key={f.name}
              field={f}
              value={values[f.name] ?? ""}
              readOnly={!editable(f)}
              note={note}
              required={isNew && f.requiredOnCreate}
              error={error}
              onChange={(v) => setValues((vs) => ({ ...vs, [f.name]: v }))}
            />
          );
        })}
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

/**
 * A multipart body when files are added or removed (README "Files"): the other fields as one
 * `@jsonPayload` part, new files under their field's name, `<field>=` (empty) to clear a
 * one-file field, `<field>-=<name>` to remove one name from a list. Undefined: send JSON.
 */
function uploadForm(
  collection: Collection,
  body: Values,
  files: Record<string, FileEdit>,
): FormData | undefined {
  const form = new FormData();
  let any = false;
  for (const f of collection.fields) {
    const edit = files[f.name];
    if (f.file === undefined || edit === undefined) continue;
    for (const file of edit.add) form.append(f.name, file, file.name);
    if (f.file.multiple) for (const name of edit.remove) form.append(`${f.name}-`, name);
    else if (edit.remove.length > 0 && edit.add.length === 0) form.append(f.name, "");
    any ||= edit.add.length > 0 || edit.remove.length > 0;
  }
  if (!any) return undefined;
  if (Object.keys(body).length > 0) form.append("@jsonPayload", JSON.stringify(body));
  return form;
}

const kib = (bytes: number) =>
  bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`;

/** A file field: its files (thumbnail, open, download, remove) and new ones to upload on save. */
function FilesInput({
  field: f,
  collection,
  id,
  names,
  edit,
  readOnly,
  error,
  onChange,
}: {
  field: Field;
  collection: string;
  id: string | undefined;
  names: string[];
  edit: FileEdit;
  readOnly: boolean;
  error: string | undefined;
  onChange: (edit: FileEdit) => void;
}) {
  const spec = f.file!;
  const inputId = `field-${f.name}`;
  const [tooLarge, setTooLarge] = useState<string>();
  const kept = names.filter((n) => !edit.remove.includes(n));
  const room = spec.maxFiles - kept.length - edit.add.length;
  const problem = tooLarge ?? error;
  const accept = spec.mimeTypes.includes("application/octet-stream")
    ? undefined
    : spec.mimeTypes.join(",");
  return (
    <fieldset class="field files-field">
      <legend>
        {f.name}
        <span class="muted kind">
          {" "}
          {spec.multiple ? `files, up to ${spec.maxFiles}` : "file"} · {kib(spec.maxSize)} each
          {spec.protected && " · protected"}
          {readOnly && " · read-only"}
        </span>
      </legend>
      <ul class="plain file-list">
        {names.map((name) => {
          const url = id === undefined ? undefined : fileUrl(collection, id, name);
          const removed = edit.remove.includes(name);
          return (
            <li key={name} data-file={name} class={removed ? "removed" : undefined}>
              {url !== undefined && isImage(name) && <Thumb url={url} name={name} />}
              <span class="name">{name}</span>
              {url !== undefined && (
                <>
                  <button
                    type="button"
                    class="link"
                    onClick={() => void openFile(url, name, false)}
                  >
                    Open
                  </button>
                  <button type="button" class="link" onClick={() => void openFile(url, name, true)}>
                    Download
                  </button>
                </>
              )}
              {!readOnly && (
                <button
                  type="button"
                  class={removed ? "link" : "link danger"}
                  aria-label={`${removed ? "Keep" : "Remove"} ${name}`}
                  onClick={() =>
                    onChange({
                      ...edit,
                      remove: removed
                        ? edit.remove.filter((n) => n !== name)
                        : [...edit.remove, name],
                    })
                  }
                >
                  {removed ? "Keep" : "Remove"}
                </button>
              )}
              {removed && <span class="muted"> removed on save</span>}
            </li>
          );
        })}
        {edit.add.map((file) => (
          <li key={file.name} class="pending">
            <span class="name">{file.name}</span>
            <span class="muted"> {kib(file.size)}, uploaded on save</span>
            <button
              type="button"
              class="link"
              aria-label={`Do not upload ${file.name}`}
              onClick={() => onChange({ ...edit, add: edit.add.filter((x) => x !== file) })}
            >
              Cancel
            </button>
          </li>
        ))}
        {names.length === 0 && edit.add.length === 0 && <li class="muted">No files.</li>}
      </ul>
      {!readOnly && (spec.multiple ? room > 0 : true) && (
        <label for={inputId} class="upload">
          {spec.multiple || kept.length + edit.add.length === 0 ? "Add" : "Replace"} {f.name}
          <input
            id={inputId}
            type="file"
            name={f.name}
            accept={accept}
            multiple={spec.multiple}
            aria-invalid={problem !== undefined}
            aria-describedby={problem !== undefined ? `${inputId}-error` : undefined}
            onChange={(e) => {
              const chosen = [...(e.currentTarget.files ?? [])];
              e.currentTarget.value = "";
              const big = chosen.find((file) => file.size > spec.maxSize);
              setTooLarge(
                big === undefined ? undefined : `${big.name} is over ${kib(spec.maxSize)}`,
              );
              if (big !== undefined) return;
              onChange({
                add: spec.multiple
                  ? [...edit.add, ...chosen].slice(0, room + edit.add.length)
                  : chosen.slice(0, 1),
                remove: spec.multiple ? edit.remove : names,
              });
            }}
          />
        </label>
      )}
      {problem !== undefined && (
        <span class="field-error" id={`${inputId}-error`}>
          {problem}
        </span>
      )}
    </fieldset>
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
