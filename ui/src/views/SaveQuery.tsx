// "Save query": a name and a description, stored in Basin for the team.
import { useState } from "preact/hooks";
import * as api from "../lib/api";
import { t } from "../lib/i18n";
import { ErrorBox } from "../components/Loading";

/** The save button and its small form. */
export function SaveQuery({ query }: { query: string }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  if (!open)
    return (
      <button type="button" class="secondary" onClick={() => (setOpen(true), setSaved(false))}>
        {saved ? "✓ " : ""}
        {t("save")}
      </button>
    );
  return (
    <form
      class="popover save-query"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.saveQuery({ name, description, query });
          setOpen(false);
          setSaved(true);
          setError(null);
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label>
        {t("name")} <input required value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <label>
        {t("description")} <textarea value={description} onInput={(e) => setDescription((e.currentTarget as HTMLTextAreaElement).value)} />
      </label>
      <code class="muted">{query}</code>
      {error !== null && <ErrorBox error={error} />}
      <div>
        <button type="submit">{t("save")}</button>{" "}
        <button type="button" class="secondary" onClick={() => setOpen(false)}>
          {t("cancel")}
        </button>
      </div>
    </form>
  );
}
