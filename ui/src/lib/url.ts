// The whole view lives in the URL's query string, so a view can be shared
// by copying the address.
import { useEffect, useState } from "preact/hooks";

/** The current query-string parameters, re-read on back/forward. */
export function useUrlParams(): URLSearchParams {
  const [params, setParams] = useState(() => new URLSearchParams(location.search));
  useEffect(() => {
    const update = () => setParams(new URLSearchParams(location.search));
    addEventListener("popstate", update);
    addEventListener("basin:navigate", update);
    return () => {
      removeEventListener("popstate", update);
      removeEventListener("basin:navigate", update);
    };
  }, []);
  return params;
}

/** Set (or with `undefined`, remove) parameters; `push` makes a history entry. */
export function navigate(changes: Record<string, string | undefined>, push = true, replaceAll = false): void {
  const params = replaceAll ? new URLSearchParams() : new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === "") params.delete(k);
    else params.set(k, v);
  }
  const url = `${location.pathname}?${params.toString()}`;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
  dispatchEvent(new Event("basin:navigate"));
}
