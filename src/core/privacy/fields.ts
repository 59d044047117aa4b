import { ApiError } from "../kernel/errors";
import { isSealed, SealError, type Sealer } from "../kernel/seal";
import type { CollectionModel, Models } from "../records/model";

/*
 * Field encryption at rest for collections' `encrypted` fields: values are sealed (kernel/seal.ts)
 * just before they are written and opened just after they are read, bound to
 * `<collection>/<record id>/<field>` so a ciphertext copied to another record or field does not
 * open. A value stored before the field was declared encrypted (plain text) is read as it is
 * until `npm run keys:rotate-data` seals it.
 */

/** Loads the data keys (undefined when DATA_ENCRYPTION_KEYS is not set). */
export type SealerSource = () => Promise<Sealer | undefined>;

/** The additional data a field's value is bound to. */
export function fieldContext(collection: string, id: string, field: string): string {
  return `${collection}/${id}/${field}`;
}

const missingKeys = () =>
  new ApiError(
    "CONFIG_INVALID",
    "This collection has encrypted fields, but DATA_ENCRYPTION_KEYS is not set (npm run keys:rotate-data -- --print makes one).",
  );

async function sealerFor(source: SealerSource): Promise<Sealer> {
  let sealer: Sealer | undefined;
  try {
    sealer = await source();
  } catch (err) {
    throw new ApiError("CONFIG_INVALID", "DATA_ENCRYPTION_KEYS is not valid.", { cause: err });
  }
  if (sealer === undefined) throw missingKeys();
  return sealer;
}

/** `data` with the model's encrypted fields sealed for record `id` (a copy; others untouched). */
export async function sealFields(
  source: SealerSource,
  model: CollectionModel,
  id: string,
  data: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const keys = [...model.encrypted].filter((k) => data[k] !== undefined && data[k] !== null);
  if (keys.length === 0) return data;
  const sealer = await sealerFor(source);
  const out = { ...data };
  for (const key of keys) {
    out[key] = await sealer.seal(String(data[key]), fieldContext(model.name, id, key));
  }
  return out;
}

/**
 * Opens the encrypted fields of `record` in place (and of records under `expand`, each with its
 * own collection). A value that does not open is a server-side fault (wrong keys, tampering):
 * a 500 whose detail names the field, never the value.
 */
export async function openFields(
  source: SealerSource,
  models: Models,
  model: CollectionModel,
  record: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  if (model.encrypted.size > 0) {
    const id = record.id;
    for (const key of model.encrypted) {
      const value = record[key];
      if (!isSealed(value)) continue;
      if (typeof id !== "string")
        throw new Error(`reading encrypted ${model.name}.${key} needs the record id`);
      const sealer = await sealerFor(source);
      try {
        record[key] = await sealer.open(value, fieldContext(model.name, id, key));
      } catch (err) {
        if (!(err instanceof SealError)) throw err;
        throw new ApiError(
          "INTERNAL",
          `The encrypted field ${model.name}.${key} of ${id} could not be decrypted.`,
          { cause: new Error(`${err.reason}: ${err.message}`) },
        );
      }
    }
  }
  const expand = record.expand as Record<string, unknown> | undefined;
  if (expand !== undefined && expand !== null && typeof expand === "object") {
    for (const [key, related] of Object.entries(expand)) {
      const target = model.relations.get(key);
      if (target !== undefined && related !== null && typeof related === "object")
        await openFields(source, models, target, related as Record<string, unknown>);
    }
  }
  return record;
}

/** Whether reading `model` (or anything it may expand) can involve encrypted values. */
export function touchesEncryption(model: CollectionModel): boolean {
  if (model.encrypted.size > 0) return true;
  for (const target of model.relations.values()) if (target.encrypted.size > 0) return true;
  return false;
}
