/**
 * Thumbnails of image files, PocketBase's way (`?thumb=`): `WxH` crops to exactly W×H from the
 * centre, `WxHt` / `WxHb` from the top / bottom, `WxHf` fits inside W×H without cropping, `0xH`
 * and `Wx0` scale to that height or width keeping the aspect ratio. Only the sizes a file field
 * declares (`thumbs: ["256x256"]`) are made — a fixed, small set per file, so nobody can make a
 * home render (and store) unbounded variants. A thumbnail is made on its first request by the
 * home's image port and stored beside its original (`<key>@<size>`); later requests read it back.
 */
export interface ThumbSpec {
  /** 0: follows from the height and the aspect ratio. */
  width: number;
  /** 0: follows from the width and the aspect ratio. */
  height: number;
  /** crop (centre, top, bottom) to exactly width×height, or fit inside it. */
  mode: "center" | "top" | "bottom" | "fit";
}

/** Largest side a declared thumbnail may have. */
export const maxThumbSide = 2048;

/** `256x256`, `640x0`, `100x300t` … → its spec; undefined when it is not one. */
export function parseThumb(size: string): ThumbSpec | undefined {
  const m = /^(\d{1,4})x(\d{1,4})([tbf]?)$/.exec(size);
  if (m === null) return undefined;
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width > maxThumbSide || height > maxThumbSide) return undefined;
  if (width === 0 && height === 0) return undefined;
  // A crop or fit needs both sides; `0x100t` means nothing.
  if (m[3] !== "" && (width === 0 || height === 0)) return undefined;
  const mode = ({ "": "center", t: "top", b: "bottom", f: "fit" } as const)[m[3] as "" | "t"];
  return { width, height, mode };
}

/** Media types thumbnails are made of, and the type each one's thumbnail has. */
export const thumbnailTypes: ReadonlyMap<string, string> = new Map([
  ["image/jpeg", "image/jpeg"],
  ["image/png", "image/png"],
  ["image/webp", "image/webp"],
  // Its first frame: both homes' libraries write GIF poorly or not at all (local Images).
  ["image/gif", "image/png"],
]);

/** Where a thumbnail is stored: beside its original (`@` is in no stored name, see names.ts). */
export function thumbKey(originalKey: string, size: string): string {
  return `${originalKey}@${size}`;
}

/**
 * The image port: Cloudflare Images through its binding on Workers, sharp (libvips) in Node
 * (src/platform/{workers,node}/storage-thumbs.ts).
 */
export interface ImageResizer {
  readonly kind: "cloudflare-images" | "sharp";
  /** `bytes` (of `type`, a key of thumbnailTypes) resized to `spec`, in `thumbnailTypes.get(type)`. */
  resize(
    bytes: Uint8Array,
    type: string,
    spec: ThumbSpec,
  ): Promise<{ bytes: Uint8Array; contentType: string }>;
}

/** The image could not be decoded (a truncated or crafted file that passed the sniff): a 4xx. */
export class ImageInputError extends Error {
  override readonly name = "ImageInputError";
}
