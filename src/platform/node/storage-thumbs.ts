import { ImageInputError, type ImageResizer } from "../../core/files/thumbs";

/**
 * The Node home's thumbnails: sharp (libvips, prebuilt for the platform from npm), loaded on the
 * first thumbnail so a home that serves none never loads it. Decoding is capped at 40 MP (a
 * "decompression bomb" under a field's byte limit is refused, not rendered) and EXIF orientation
 * is applied, as Cloudflare Images does.
 */
export function sharpImages(): ImageResizer {
  let loaded: Promise<typeof import("sharp")> | undefined;
  return {
    kind: "sharp",
    async resize(bytes, type, spec) {
      loaded ??= import("sharp");
      const sharp = (await loaded).default;
      const crop = spec.mode !== "fit" && spec.width > 0 && spec.height > 0;
      let image = sharp(bytes, { limitInputPixels: 40_000_000, animated: false })
        .rotate()
        .resize(spec.width || null, spec.height || null, {
          fit: crop ? "cover" : "inside",
          position: spec.mode === "top" ? "top" : spec.mode === "bottom" ? "bottom" : "centre",
        });
      let contentType = type;
      if (type === "image/jpeg") image = image.jpeg({ quality: 82, mozjpeg: false });
      else if (type === "image/webp") image = image.webp({ quality: 82 });
      else {
        image = image.png();
        contentType = "image/png";
      }
      try {
        const out = await image.toBuffer();
        return {
          bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
          contentType,
        };
      } catch (err) {
        // libvips says why it could not read the input; anything else is ours to fix.
        if (/Input|unsupported image format|corrupt|premature|pixel limit/i.test(String(err)))
          throw new ImageInputError("the image cannot be decoded", { cause: err });
        throw err;
      }
    },
  };
}
