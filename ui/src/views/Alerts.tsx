// Alerts: the ruler's rules with their state, the alerts pending or firing
// with the lines that matched, the history of firing and resolving, and a
// form that turns the current Explore query into an alert rule.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { ErrorBox, Loading } from "../components/Loading";
import { t } from "../lib/i18n";
import { isMetricQuery } from "../lib/logql";
import { formatTime } from "../lib/time";

interface RuleAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
  value: string;
  sampleLines?: { ts: string; labels: Record<string, string>; line: string }[];
}
interface RuleState {
  name: string;
  query: string;
  type: "alerting" | "recording";
  state?: string;
  health?: string;
  lastError?: string;
  alerts?: RuleAlert[];
}
interface Group {
  name: string;
  file: string;
  rules: RuleState[];
}
interface HistoryEvent {
  time: string;
  state: string;
  rule: string;
  group: string;
  labels: Record<string, string>;
  value: number;
}

const labelText = (l: Record<string, string>) =>
  Object.entries(l)
    .filter(([k]) => k !== "alertname")
    .map(([k, v]) => `${k}="${v}"`)
    .join(", ");

/** The rule YAML of one group holding one alert rule (one rule per group, so saving never replaces other rules). */
export function ruleYaml(r: { name: string; expr: string; threshold: string; forDur: string; summary: string }): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    `name: ${q(r.name)}`,
    "interval: 1m",
    "rules:",
    `  - alert: ${q(r.name)}`,
    `    expr: ${q(`${r.expr} > ${r.threshold}`)}`,
    `    for: ${q(r.forDur)}`,
    "    labels:",
    '      severity: "warning"',
    "    annotations:",
    `      summary: ${q(r.summary)}`,
    "",
  ].join("\n");
}

function CreateRule({ query, onSaved }: { query: string; onSaved: () => void }) {
  const logQuery = query.trim() && !isMetricQuery(query);
  const [name, setName] = useState("");
  const [expr, setExpr] = useState(logQuery ? `sum(count_over_time(${query.trim()} [5m]))` : query);
  const [threshold, setThreshold] = useState("0");
  const [forDur, setFor] = useState("1m");
  const [summary, setSummary] = useState("");
  const [namespace, setNamespace] = useState("basin-ui");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  return (
    <form
      class="rule-form"
      aria-labelledby="create-rule-title"
      onSubmit={async (e) => {
        e.preventDefault();
        setSaved(false);
        try {
          await api.call<unknown>(`/loki/api/v1/rules/${encodeURIComponent(namespace)}`, {
            method: "POST",
            headers: { "content-type": "application/yaml" },
            body: ruleYaml({ name, expr, threshold, forDur, summary }),
          });
          setError(null);
          setSaved(true);
          onSaved();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h2 id="create-rule-title">{t("createRule")}</h2>
      <label>
        {t("name")} <input required pattern="[A-Za-z_][A-Za-z0-9_]*" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
      </label>
      <label>
        {t("expression")} <textarea required class="mono" value={expr} onInput={(e) => setExpr((e.currentTarget as HTMLTextAreaElement).value)} />
      </label>
      <div class="row">
        <label>
          {t("threshold")} <input required type="number" step="any" value={threshold} onInput={(e) => setThreshold((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          {t("forDur")} <input required value={forDur} size={6} onInput={(e) => setFor((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <label>
          {t("namespace")} <input required value={namespace} size={12} onInput={(e) => setNamespace((e.currentTarget as HTMLInputElement).value)} />
        </label>
      </div>
      <label>
        {t("description")} <input value={summary} onInput={(e) => setSummary((e.currentTarget as HTMLInputElement).value)} />
      </label>
      {error !== null && <ErrorBox error={error} context={t("createRule")} />}
      <div>
        <button type="submit">{t("save")}</button> {saved && <span role="status">✓ {name}</span>}
      </div>
    </form>
  );
}

/** The alerts view. */
export function Alerts({ params, utc }: { params: URLSearchParams; utc: boolean }) {
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [history, setHistory] = useState<HistoryEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState<number | null>(null);
  const load = () => {
    setLoading(Date.now());
    Promise.all([
      api.call<{ data: { groups: Group[] } }>("/prometheus/api/v1/rules"),
      api.call<{ data: HistoryEvent[] }>("/api/v1/alerts/history"),
    ])
      .then(([rules, hist]) => {
        setGroups(rules.data.groups);
        setHistory(hist.data);
        setError(null);
      }, setError)
      .finally(() => setLoading(null));
  };
  useEffect(() => {
    load();
    const timer = setInterval(load, 15000);
    return () => clearInterval(timer);
  }, []);

  const rules = (groups ?? []).flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name, file: g.file })));
  const active = rules.flatMap((r) => (r.alerts ?? []).map((a) => ({ rule: r.name, alert: a })));
  return (
    <section aria-labelledby="alerts-title" class="alerts">
      <h1 id="alerts-title">{t("alerts")}</h1>
      {loading !== null && groups === null && <Loading since={loading} />}
      {error !== null && <ErrorBox error={error} context={t("alerts")} />}
      <h2>
        {t("firing")} / {t("pending")}
      </h2>
      {active.length === 0 && <p class="empty">{t("noAlerts")}</p>}
      <ul class="cards alert-cards">
        {active.map(({ rule, alert }) => (
          <li key={rule + labelText(alert.labels)} class={`card alert-${alert.state}`}>
            <h3>
              <span class={`chip state-${alert.state}`}>{alert.state === "firing" ? t("firing") : t("pending")}</span> {rule}
            </h3>
            <code>{labelText(alert.labels)}</code>
            {alert.annotations.summary && <p>{alert.annotations.summary}</p>}
            <p class="muted">
              {t("value")} {alert.value} · {formatTime(Date.parse(alert.activeAt), utc)}
            </p>
            {alert.sampleLines && alert.sampleLines.length > 0 && (
              <details open>
                <summary>{t("samples")}</summary>
                <ul class="sample-lines">
                  {alert.sampleLines.map((l) => (
                    <li key={l.ts}>
                      <code>{l.line}</code>
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </li>
        ))}
      </ul>
      <h2>{t("rule")}</h2>
      <div class="table-scroll" tabIndex={0} role="region" aria-label={t("rule")}>
        <table class="plain-table">
          <thead>
            <tr>
              <th scope="col">{t("state")}</th>
              <th scope="col">{t("rule")}</th>
              <th scope="col">{t("group")}</th>
              <th scope="col">{t("expression")}</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={`${r.file}/${r.group}/${r.name}`}>
                <td>
                  <span class={`chip state-${r.state ?? "recording"}`}>{r.type === "recording" ? "record" : r.state}</span>
                  {r.health === "err" && <span class="error-text"> {r.lastError}</span>}
                </td>
                <td>{r.name}</td>
                <td>
                  {r.file} / {r.group}
                </td>
                <td>
                  <code>{r.query}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>{t("history")}</h2>
      <div class="table-scroll" tabIndex={0} role="region" aria-label={t("history")}>
        <table class="plain-table history-table">
          <thead>
            <tr>
              <th scope="col">{t("time")}</th>
              <th scope="col">{t("state")}</th>
              <th scope="col">{t("rule")}</th>
              <th scope="col">{t("labels")}</th>
              <th scope="col">{t("value")}</th>
            </tr>
          </thead>
          <tbody>
            {history.map((h, i) => (
              <tr key={i}>
                <td>{formatTime(Date.parse(h.time), utc)}</td>
                <td>
                  <span class={`chip state-${h.state}`}>{h.state}</span>
                </td>
                <td>{h.rule}</td>
                <td>
                  <code>{labelText(h.labels)}</code>
                </td>
                <td>{h.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <CreateRule query={params.get("q") ?? ""} onSaved={load} />
    </section>
  );
}
