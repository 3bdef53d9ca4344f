// The team's saved queries: open one in Explore, or delete it.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { t } from "../lib/i18n";
import { navigate } from "../lib/url";
import { ErrorBox } from "../components/Loading";

/** The saved queries view. */
export function Saved() {
  const [list, setList] = useState<api.SavedQuery[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => api.savedQueries().then(setList, setError);
  useEffect(() => void load(), []);
  return (
    <section aria-labelledby="saved-title">
      <h1 id="saved-title">{t("saved")}</h1>
      {error !== null && <ErrorBox error={error} />}
      {list === null && error === null && <p>{t("loading")}</p>}
      {list?.length === 0 && <p class="empty">{t("nothingSaved")}</p>}
      <ul class="cards">
        {list?.map((q) => (
          <li key={q.id} class="card">
            <h2>{q.name}</h2>
            {q.description && <p>{q.description}</p>}
            <code>{q.query}</code>
            <div>
              <button type="button" onClick={() => navigate({ view: "explore", q: q.query }, true, true)}>
                {t("open")}
              </button>{" "}
              <button type="button" class="secondary" onClick={() => api.deleteSavedQuery(q.id).then(load, setError)}>
                {t("delete")}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
