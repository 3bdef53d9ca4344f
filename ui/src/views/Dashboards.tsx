// Dashboards: panels of queries over one time range, with variables whose
// values come from a label's values (`$app` in a query), auto-refresh, and
// export/import as JSON. Stored in Basin per tenant.
import { useEffect, useMemo, useState } from "preact/hooks";
import * as api from "../lib/api";
import { ErrorBox } from "../components/Loading";
import { Panel, PANEL_TYPES, type PanelDef, type PanelType } from "../components/Panel";
import { TimePicker } from "../components/TimePicker";
import { download } from "../lib/entries";
import { t, type Key } from "../lib/i18n";
import { navigate } from "../lib/url";
import { parseTime } from "../lib/time";

/** A variable: its name in queries and the label its values come from. */
interface VariableDef {
  name: string;
  label: string;
}

/** A dashboard document, as exported. */
export interface DashboardDoc {
  title: string;
  panels: PanelDef[];
  variables: VariableDef[];
  time?: { from: string; to: string };
  refresh?: string;
}

const REFRESH = ["off", "10s", "30s", "1m", "5m"];
const TYPE_KEYS: Record<PanelType, Key> = { timeseries: "timeseries", bars: "bars", table: "table", stat: "stat", logs: "logs" };

/** `query` with `$name` and `${name}` replaced by the chosen values. */
export function substitute(query: string, values: Record<string, string>): string {
  return query.replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => values[a ?? b] ?? m);
}

function DashboardList() {
  const [list, setList] = useState<api.Dashboard[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => api.dashboards().then(setList, setError);
  useEffect(() => void load(), []);
  const create = async () => {
    try {
      const d = await api.createDashboard({ title: t("newDashboard"), panels: [], variables: [], time: { from: "now-6h", to: "now" }, refresh: "off" });
      navigate({ view: "dashboards", id: d.id, edit: "1" }, true, true);
    } catch (e) {
      setError(e);
    }
  };
  const importFile = async (file: File) => {
    try {
      const doc = JSON.parse(await file.text());
      await api.createDashboard(doc.document ?? doc);
      load();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">{t("dashboards")}</h1>
      <div class="toolbar">
        <button type="button" onClick={create}>
          {t("newDashboard")}
        </button>
        <label class="file-button secondary">
          {t("import")} JSON
          <input type="file" accept="application/json,.json" class="visually-hidden" onChange={(e) => {
            const f = (e.currentTarget as HTMLInputElement).files?.[0];
            if (f) importFile(f);
          }} />
        </label>
      </div>
      {error !== null && <ErrorBox error={error} />}
      {list?.length === 0 && <p class="empty">{t("nothingSaved")}</p>}
      <ul class="cards">
        {list?.map((d) => (
          <li key={d.id} class="card">
            <h2>
              <a href={`?view=dashboards&id=${d.id}`} onClick={(e) => (e.preventDefault(), navigate({ view: "dashboards", id: d.id }, true, true))}>
                {d.title}
              </a>
            </h2>
            <p class="muted">
              {((d.document as DashboardDoc)?.panels ?? []).length} panels
            </p>
            <div>
              <button type="button" class="secondary" onClick={() => api.deleteDashboard(d.id).then(load, setError)}>
                {t("delete")}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

function VariablePicker({ v, value, range, onChange }: { v: VariableDef; value: string; range: [number, number]; onChange: (value: string) => void }) {
  const [values, setValues] = useState<string[]>([]);
  useEffect(() => {
    api.labelValues(v.label, range[0], range[1]).then((vs) => {
      setValues(vs);
      if (!value && vs.length) onChange(vs[0]);
    }, () => setValues([]));
  }, [v.label]);
  return (
    <label class="inline">
      ${v.name}{" "}
      <select value={value} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value)}>
        {values.map((x) => (
          <option key={x} value={x}>
            {x}
          </option>
        ))}
      </select>
    </label>
  );
}

function DashboardView({ id, params, utc }: { id: string; params: URLSearchParams; utc: boolean }) {
  const [doc, setDoc] = useState<DashboardDoc | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [dirty, setDirty] = useState(false);
  const [tick, setTick] = useState(0);
  const editing = params.get("edit") === "1";
  const [panelDraft, setPanelDraft] = useState<PanelDef>({ title: "", type: "timeseries", query: "" });
  const [varDraft, setVarDraft] = useState<VariableDef>({ name: "", label: "" });

  useEffect(() => {
    api.dashboard(id).then((d) => setDoc(d.document as DashboardDoc), setError);
  }, [id]);

  const from = params.get("from") ?? doc?.time?.from ?? "now-6h";
  const to = params.get("to") ?? doc?.time?.to ?? "now";
  const refresh = params.get("refresh") ?? doc?.refresh ?? "off";
  const range = useMemo((): [number, number] => {
    const now = Date.now();
    return [parseTime(from, now) ?? now - 6 * 3600e3, parseTime(to, now) ?? now];
  }, [from, to, tick]);

  useEffect(() => {
    const ms = parseTime(`now-${refresh}`, 0);
    if (refresh === "off" || ms === null) return;
    const timer = setInterval(() => setTick((n) => n + 1), -ms);
    return () => clearInterval(timer);
  }, [refresh]);

  if (error !== null) return <ErrorBox error={error} />;
  if (!doc) return <p>{t("loading")}</p>;
  const values: Record<string, string> = {};
  for (const v of doc.variables ?? []) values[v.name] = params.get(`var-${v.name}`) ?? "";
  const update = (next: DashboardDoc) => {
    setDoc(next);
    setDirty(true);
  };
  const save = async () => {
    try {
      await api.updateDashboard(id, { ...doc, time: { from, to }, refresh });
      setDirty(false);
      navigate({ edit: undefined });
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section aria-labelledby="dashboard-title">
      <div class="toolbar">
        {editing ? (
          <label>
            <span class="visually-hidden">{t("title")}</span>
            <input id="dashboard-title" class="title-input" value={doc.title} onInput={(e) => update({ ...doc, title: (e.currentTarget as HTMLInputElement).value })} />
          </label>
        ) : (
          <h1 id="dashboard-title">{doc.title}</h1>
        )}
        <span class="spacer" />
        {(doc.variables ?? []).map((v) => (
          <VariablePicker key={v.name} v={v} value={values[v.name]} range={range} onChange={(x) => navigate({ [`var-${v.name}`]: x }, false)} />
        ))}
        <TimePicker from={from} to={to} utc={utc} onChange={(f, tt) => navigate({ from: f, to: tt })} onZone={(u) => navigate({ tz: u ? "utc" : undefined })} />
        <label class="inline">
          {t("refresh")}{" "}
          <select value={refresh} onChange={(e) => navigate({ refresh: (e.currentTarget as HTMLSelectElement).value }, false)}>
            {REFRESH.map((r) => (
              <option key={r} value={r}>
                {r === "off" ? t("off") : r}
              </option>
            ))}
          </select>
        </label>
        {editing ? (
          <button type="button" onClick={save}>
            {t("save")}
          </button>
        ) : (
          <button type="button" class="secondary" onClick={() => navigate({ edit: "1" })}>
            {t("edit")}
          </button>
        )}
        <button type="button" class="secondary" onClick={() => download(`${doc.title}.json`, JSON.stringify(doc, null, 2), "application/json")}>
          {t("export")}
        </button>
        {dirty && !editing && (
          <button type="button" onClick={save}>
            {t("save")}
          </button>
        )}
      </div>
      {editing && (
        <div class="editors">
          <form
            class="inline-form"
            aria-label={t("addPanel")}
            onSubmit={(e) => {
              e.preventDefault();
              update({ ...doc, panels: [...doc.panels, panelDraft] });
              setPanelDraft({ title: "", type: "timeseries", query: "" });
            }}
          >
            <strong>{t("addPanel")}</strong>
            <label>
              {t("title")} <input id="panel-title" required value={panelDraft.title} onInput={(e) => setPanelDraft({ ...panelDraft, title: (e.currentTarget as HTMLInputElement).value })} />
            </label>
            <label>
              {t("panelType")}{" "}
              <select id="panel-type" value={panelDraft.type} onChange={(e) => setPanelDraft({ ...panelDraft, type: (e.currentTarget as HTMLSelectElement).value as PanelType })}>
                {PANEL_TYPES.map((p) => (
                  <option key={p} value={p}>
                    {t(TYPE_KEYS[p])}
                  </option>
                ))}
              </select>
            </label>
            <label class="grow">
              {t("query")} <input id="panel-query" class="mono" required value={panelDraft.query} onInput={(e) => setPanelDraft({ ...panelDraft, query: (e.currentTarget as HTMLInputElement).value })} />
            </label>
            <button type="submit">{t("addPanel")}</button>
          </form>
          <form
            class="inline-form"
            aria-label={t("variables")}
            onSubmit={(e) => {
              e.preventDefault();
              update({ ...doc, variables: [...(doc.variables ?? []), varDraft] });
              setVarDraft({ name: "", label: "" });
            }}
          >
            <strong>{t("variables")}</strong>
            <label>
              {t("name")} <input id="var-name" required pattern="\w+" value={varDraft.name} onInput={(e) => setVarDraft({ ...varDraft, name: (e.currentTarget as HTMLInputElement).value })} />
            </label>
            <label>
              {t("variableLabel")} <input id="var-label" required value={varDraft.label} onInput={(e) => setVarDraft({ ...varDraft, label: (e.currentTarget as HTMLInputElement).value })} />
            </label>
            <button type="submit">{t("save")}</button>
            {(doc.variables ?? []).map((v) => (
              <span key={v.name} class="chip">
                ${v.name} = {v.label}{" "}
                <button type="button" class="icon" aria-label={`${t("remove")} ${v.name}`} onClick={() => update({ ...doc, variables: doc.variables.filter((x) => x !== v) })}>
                  ×
                </button>
              </span>
            ))}
          </form>
        </div>
      )}
      {doc.panels.length === 0 && <p class="empty">{t("noPanels")}</p>}
      <div class="panels">
        {doc.panels.map((p, i) => (
          <article key={i} class={`panel panel-${p.type}`} aria-label={p.title}>
            <header>
              <h2>{p.title}</h2>
              {editing && (
                <button type="button" class="icon" aria-label={`${t("remove")} ${p.title}`} onClick={() => update({ ...doc, panels: doc.panels.filter((_, j) => j !== i) })}>
                  ×
                </button>
              )}
            </header>
            <Panel panel={p} query={substitute(p.query, values)} range={range} refresh={tick} utc={utc} />
          </article>
        ))}
      </div>
    </section>
  );
}

/** The dashboards view: the list, or one dashboard when the URL names it. */
export function Dashboards({ params, utc }: { params: URLSearchParams; utc: boolean }) {
  const id = params.get("id");
  return id ? <DashboardView id={id} params={params} utc={utc} /> : <DashboardList />;
}
