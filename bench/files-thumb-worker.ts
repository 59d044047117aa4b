// The probe worker of `npm run bench:files`: POST a JPEG, get its 256×256 thumbnail made by the
// Workers home's own adapter (src/platform/workers/storage-thumbs.ts) through the IMAGES
// binding — what a first ?thumb= request costs the Worker besides reading the original from R2.
import { parseThumb } from "../src/core/files/thumbs";
import { cloudflareImages } from "../src/platform/workers/storage-thumbs";

export default {
  async fetch(request: Request, env: { IMAGES: ImagesBinding }): Promise<Response> {
    if (request.method !== "POST") return new Response("ok");
    const bytes = new Uint8Array(await request.arrayBuffer());
    const spec = parseThumb(new URL(request.url).searchParams.get("thumb") ?? "256x256")!;
    const out = await cloudflareImages(env.IMAGES).resize(bytes, "image/jpeg", spec);
    return new Response(out.bytes as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": out.contentType },
    });
  },
};
