import { useEffect, useState } from "preact/hooks";

/**
 * Hash routes (`#/data/posts`, `#/users/usr_…`): the server only ever serves /_/index.html and
 * its assets, so neither home needs a single-page fallback that could shadow API paths.
 */
export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function current(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = hash.split("?");
  return {
    parts: path
      .split("/")
      .filter((p) => p !== "")
      .map(decodeURIComponent),
    query: new URLSearchParams(search),
  };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  const [initialHash] = useState(() => location.hash);
  useEffect(() => {
    const update = () => setRoute(current());
    addEventListener("hashchange", update);
    // The hash may have changed between the first render and this effect (effects run after
    // paint): a hashchange in that gap would otherwise be missed for good.
    if (location.hash !== initialHash) update();
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}

export const href = (...parts: string[]) => `#/${parts.map(encodeURIComponent).join("/")}`;

export function navigate(to: string) {
  location.hash = to.replace(/^#/, "");
}
