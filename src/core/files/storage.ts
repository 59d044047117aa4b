/**
 * Object storage for files, as a port: the Node home keeps them on local disk
 * (src/platform/node/storage-disk.ts), the Workers home in an R2 bucket through its binding
 * (src/platform/workers/storage-r2.ts). Keys are `<collection>/<record>/<field>/<name>`.
 */
export interface FileStorage {
  readonly kind: "disk" | "r2" | "s3";
  /** Stores `bytes` under `key` with its metadata (replacing any object there). */
  put(key: string, bytes: Uint8Array, meta: ObjectMeta): Promise<void>;
  /**
   * Stores `body` (exactly `size` bytes, a direct upload) under `key` without holding it all in
   * memory, and returns the metadata it is served with: the SHA-256 where the adapter hashes on
   * the way (disk, S3), R2's own ETag on R2 (its metadata is written before the bytes are seen).
   * Throws, leaving no object, when the stream errors.
   */
  putStream(
    key: string,
    body: ReadableStream<Uint8Array>,
    size: number,
    contentType: string,
  ): Promise<ObjectMeta>;
  /** The object (or the given byte range of it); undefined when there is none. */
  get(key: string, range?: ByteRange): Promise<StoredObject | undefined>;
  /** The object's size and metadata without its bytes (to resolve a Range header). */
  head(key: string): Promise<(ObjectMeta & { size: number }) | undefined>;
  /** Removes objects; a key with no object is not an error. Throws when storage fails. */
  delete(keys: readonly string[]): Promise<void>;
  /** Throws when the storage cannot be used as configured (run at start where there is one). */
  check?(): Promise<void>;
}

export interface ObjectMeta {
  /** The sniffed media type it is served with. */
  contentType: string;
  /** SHA-256 of the bytes (base64url): the strong ETag in both homes. */
  sha256: string;
}

/** A byte range inside the object, already checked against its size. */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface StoredObject extends ObjectMeta {
  /** The whole object's size. */
  size: number;
  body: ReadableStream<Uint8Array>;
}
