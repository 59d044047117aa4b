import { ImageInputError, type ImageResizer, thumbnailTypes } from "../../core/files/thumbs";

/**
 * The Workers home's thumbnails: the Cloudflare Images binding (IMAGES in wrangler.toml). The
 * image is decoded, resized and encoded by Cloudflare outside the Worker, so a thumbnail costs
 * the Worker a subrequest and a copy, not the 10 ms CPU of the free plan (libvips in WebAssembly
 * would also add ~0.5-1.5 MiB to a bundle that is at its budget). Locally miniflare emulates
 * the binding with sharp (wrangler dev, the workerd tests). Images bills unique transformations
 * (5,000 a month free); each declared size of each file is made once and then read from R2.
 */
export function cloudflareImages(images: ImagesBinding): ImageResizer {
  return {
    kind: "cloudflare-images",
    async resize(bytes, type, spec) {
      const crop = spec.mode !== "fit" && spec.width > 0 && spec.height > 0;
      const transform: ImageTransform = crop
        ? {
            width: spec.width,
            height: spec.height,
            fit: "cover",
            ...(spec.mode === "center" ? {} : { gravity: spec.mode as "top" | "bottom" }),
          }
        : {
            ...(spec.width > 0 ? { width: spec.width } : {}),
            ...(spec.height > 0 ? { height: spec.height } : {}),
            fit: "contain",
          };
      const format = (thumbnailTypes.get(type) ?? "image/png") as "image/png";
      try {
        const result = await images
          .input(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream())
          .transform(transform)
          .output({ format, ...(format === "image/png" ? {} : { quality: 82 }) });
        const out = new Uint8Array(await result.response().arrayBuffer());
        return { bytes: out, contentType: result.contentType() };
      } catch (err) {
        // 9412: not an image; 952x: the input could not be read or is not supported.
        const code = (err as { code?: unknown }).code;
        if (code === 9412 || (typeof code === "number" && code >= 9520 && code <= 9529))
          throw new ImageInputError("the image cannot be decoded", { cause: err });
        throw err;
      }
    },
  };
}
