import { signedFileUrl } from "../api";
import { useLoad } from "./ui";

/**
 * A record's files (README "Files"): served at /api/files/<collection>/<record>/<name>, always
 * with a file token here (`?token=`), since an <img src> or a download cannot send the bearer
 * and protected fields need one anyway.
 */
export const fileUrl = (collection: string, id: string, name: string) =>
  `/api/files/${[collection, id, name].map(encodeURIComponent).join("/")}`;

/** A file field's value as its names (one name, or a list for a multiple field). */
export const fileNames = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).filter(
    (n): n is string => typeof n === "string" && n !== "",
  );

export const isImage = (name: string) => /\.(png|jpe?g|gif|webp|avif)$/i.test(name);

/** Opens a file in a new tab, or downloads it, through a fresh signed link. */
export async function openFile(url: string, name: string, download: boolean) {
  const a = document.createElement("a");
  a.href = await signedFileUrl(url, download ? { download: "1" } : {});
  if (download) a.download = name;
  else {
    a.target = "_blank";
    a.rel = "noopener";
  }
  a.click();
}

/**
 * An image file's thumbnail: the declared `thumb` size when given (`?thumb=`), else the image
 * itself, scaled by the page.
 */
export function Thumb({ url, name, thumb }: { url: string; name: string; thumb?: string }) {
  const src = useLoad(() => signedFileUrl(url, thumb === undefined ? {} : { thumb }), [url, thumb]);
  return src.data === undefined ? (
    <span class="thumb" />
  ) : (
    <img class="thumb" src={src.data} alt={name} loading="lazy" />
  );
}

/** The table's cell for a file field: thumbnails of images, the names of other files. */
export function FileCell({
  collection,
  id,
  value,
  thumb,
}: {
  collection: string;
  id: string;
  value: unknown;
  /** The declared thumbnail size to show images at (see `thumbFor`). */
  thumb?: string;
}) {
  return (
    <span class="files">
      {fileNames(value).map((name) => {
        const url = fileUrl(collection, id, name);
        return (
          <a
            key={name}
            href={url}
            title={name}
            onClick={(e) => {
              e.preventDefault();
              void openFile(url, name, false);
            }}
          >
            {isImage(name) ? <Thumb url={url} name={name} thumb={thumb} /> : name}
          </a>
        );
      })}
    </span>
  );
}
