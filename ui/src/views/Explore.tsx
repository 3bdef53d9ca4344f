// Explore: a LogQL query over a time range, as a level-coloured volume
// histogram and a list of entries (log queries) or a chart and table
// (metric queries). Everything the view shows is in the URL.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { Chart, type ChartSeries } from "../components/Chart";
import { ErrorBox, Loading } from "../components/Loading";
import { LogList } from "../components/LogList";
import { QueryEditor } from "../components/QueryEditor";
import { TimePicker } from "../components/TimePicker";
import { download, type Entry, type Facet, facets, flattenInChunks, toCsv, toNdjson, yieldToBrowser } from "../lib/entries";
import { lineCount, t } from "../lib/i18n";
import { LEVELS } from "../lib/level";
import { addFilter, isMetricQuery, selectorOf } from "../lib/logql";
import { navigate } from "../lib/url";
import { formatTime, parseTime, stepFor } from "../lib/time";
import { SaveQuery } from "./SaveQuery";

/** Colours of the series of a metric chart, in order. */
export const PALETTE = ["#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#ec4899", "#84cc16", "#64748b", "#f97316"];
/** The colour of each level, as the CSS uses. */
export const LEVEL_COLORS: Record<string, string> = {
  critical: "#a21caf", error: "#dc2626", warn: "#d97706", info: "#16a34a", debug: "#2563eb", trace: "#64748b", unknown: "#94a3b8",
};

/** The label set of a series as `{k="v", ...}`. */
export function seriesName(metric: Record<string, string>): string {
  const parts = Object.entries(metric).map(([k, v]) => `${k}="${v}"`);
  return `{${parts.join(", ")}}`;
}

/** Matrix series as aligned chart columns. */
export function toColumns(result: api.Series[], colors = PALETTE): { times: number[]; series: ChartSeries[] } {
  const times = [...new Set(result.flatMap((s) => s.values.map((v) => Number(v[0]))))].sort((a, b) => a - b);
  const index = new Map(times.map((ts, i) => [ts, i]));
  const series = result.map((s, n) => {
    const values: (number | null)[] = new Array(times.length).fill(null);
    for (const [ts, v] of s.values) values[index.get(Number(ts))!] = Number(v);
    return { label: seriesName(s.metric), values, color: colors[n % colors.length] };
  });
  return { times, series };
}

// Asking for one always-true label filter makes Basin return every entry's
// fields (parsed, detected level, pattern id) with it, for the details,
// facets and level colours.
const WITH_FIELDS = ' | detected_level=~".*"';

interface Result {
  kind: "logs" | "metric";
  entries: Entry[];
  matrix: api.Series[];
  volume: { times: number[]; series: ChartSeries[] } | null;
  streamLabels: Set<string>;
  patterns: Map<string, string>;
  took: number;
}

/** The Explore view. */
export function Explore({ params, utc }: { params: URLSearchParams; utc: boolean }) {
  const query = params.get("q") ?? "";
  const from = params.get("from") ?? "now-1h";
  const to = params.get("to") ?? "now";
  const limit = Number(params.get("limit") ?? 1000);
  const wrap = params.get("wrap") === "1";
  const table = params.get("table") === "1";
  const [draft, setDraft] = useState(query);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState<number | null>(null);
  const [runId, setRunId] = useState(0);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => setDraft(query), [query]);

  const range = useMemo((): [number, number] => {
    const now = Date.now();
    return [parseTime(from, now) ?? now - 3600e3, parseTime(to, now) ?? now];
  }, [from, to, runId]);

  useEffect(() => {
    if (!query.trim()) {
      setResult(null);
      return;
    }
    const ctl = new AbortController();
    abort.current = ctl;
    const started = Date.now();
    setRunning(started);
    setError(null);
    const [start, end] = range;
    const step = stepFor(start, end);
    const run = async (): Promise<Result> => {
      if (isMetricQuery(query)) {
        const data = await api.queryRange(query, start, end, { step, signal: ctl.signal });
        const matrix = data.resultType === "matrix" ? data.result : [];
        return { kind: "metric", entries: [], matrix, volume: null, streamLabels: new Set(), patterns: new Map(), took: Date.now() - started };
      }
      const volumeQuery = `sum by (detected_level) (count_over_time(${query} [${step}s]))`;
      const [logs, volume, names] = await Promise.all([
        api.queryRange(query + WITH_FIELDS, start, end, { limit, signal: ctl.signal }),
        api.queryRange(volumeQuery, start, end, { step, signal: ctl.signal }).catch(() => null),
        api.labelNames(start, end).catch(() => [] as string[]),
      ]);
      await yieldToBrowser();
      const entries = logs.resultType === "streams" ? await flattenInChunks(logs.result) : [];
      let volumeCols = null;
      if (volume?.resultType === "matrix") {
        const ordered = [...volume.result].sort(
          (a, b) => LEVELS.indexOf((b.metric.detected_level ?? "unknown") as never) - LEVELS.indexOf((a.metric.detected_level ?? "unknown") as never),
        );
        volumeCols = toColumns(ordered);
        volumeCols.series.forEach((s, i) => {
          const lvl = ordered[i].metric.detected_level ?? "unknown";
          s.label = lvl;
          s.color = LEVEL_COLORS[lvl] ?? LEVEL_COLORS.unknown;
        });
      }
      const patterns = new Map<string, string>();
      if (entries.some((e) => e.labels.pattern_id)) {
        const list = await api
          .call<{ data?: { pattern_id: string; pattern: string }[] }>(
            `/api/v1/patterns?query=${encodeURIComponent(selectorOf(query))}&start=${start}000000&end=${end}000000`,
            { signal: ctl.signal },
          )
          .catch(() => ({ data: [] }));
        for (const p of list.data ?? []) patterns.set(p.pattern_id, p.pattern);
      }
      return { kind: "logs", entries, matrix: [], volume: volumeCols, streamLabels: new Set(names), patterns, took: Date.now() - started };
    };
    run().then(
      (r) => {
        if (!ctl.signal.aborted) setResult(r);
      },
      (e) => {
        if (!ctl.signal.aborted) setError(e);
      },
    ).finally(() => {
      if (abort.current === ctl) setRunning(null);
    });
    return () => ctl.abort();
  }, [query, range, limit]);

  const runQuery = () => {
    if (draft === query) setRunId((n) => n + 1);
    else navigate({ q: draft });
  };
  const cancel = () => {
    abort.current?.abort();
    setRunning(null);
  };
  const zoom = (a: number, b: number) => navigate({ from: new Date(a).toISOString(), to: new Date(b).toISOString() });
  const filter = (name: string, value: string, isStream: boolean, exclude: boolean) =>
    navigate({ q: addFilter(query, name, value, isStream, exclude) });

  // Counted after the list is shown, in chunks: facets of 100,000 entries
  // must not hold up the first screen.
  const [facetList, setFacetList] = useState<Facet[]>([]);
  useEffect(() => {
    let live = true;
    setFacetList([]);
    if (result?.kind === "logs") facets(result.entries).then((f) => live && setFacetList(f));
    return () => {
      live = false;
    };
  }, [result]);
  const metricCols = useMemo(() => (result?.kind === "metric" ? toColumns(result.matrix) : null), [result]);

  return (
    <section class="explore" aria-labelledby="explore-title">
      <h1 id="explore-title" class="visually-hidden">
        {t("explore")}
      </h1>
      <form
        class="querybar"
        onSubmit={(e) => {
          e.preventDefault();
          runQuery();
        }}
      >
        <QueryEditor value={draft} onChange={setDraft} onRun={runQuery} range={range} />
        <TimePicker from={from} to={to} utc={utc} onChange={(f, tt) => navigate({ from: f, to: tt })} onZone={(u) => navigate({ tz: u ? "utc" : undefined })} />
        <button type="submit" id="run" title="Ctrl+Enter">
          {t("run")}
        </button>
      </form>
      {!query.trim() && <StartHere range={range} />}
      {running !== null && <Loading since={running} onCancel={cancel} />}
      {error !== null && <ErrorBox error={error} context={t("query")} />}
      {result?.kind === "logs" && (
        <div class="results">
          {result.volume && result.volume.times.length > 0 && (
            <div class="volume">
              <Chart times={result.volume.times} series={result.volume.series} bars utc={utc} height={110} label={t("volume")} xRange={[range[0] / 1e3, range[1] / 1e3]} onZoom={zoom} />
              <ul class="level-legend" aria-label={t("level")}>
                {result.volume.series.map((s) => (
                  <li key={s.label}>
                    <span class="swatch" style={{ background: s.color }} /> {s.label}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <div class="toolbar">
            <span class="count">
              {lineCount(result.entries.length)} · {result.took} ms
            </span>
            <label>
              <input type="checkbox" checked={wrap} onChange={() => navigate({ wrap: wrap ? undefined : "1" }, false)} /> {t("wrap")}
            </label>
            <SaveQuery query={query} />
            <button type="button" class="secondary" onClick={() => download("basin-logs.ndjson", toNdjson(result.entries), "application/x-ndjson")}>
              {t("download")} NDJSON
            </button>
            <button type="button" class="secondary" onClick={() => download("basin-logs.csv", toCsv(result.entries), "text/csv")}>
              {t("download")} CSV
            </button>
          </div>
          <div class="logs-with-facets">
            <aside class="facets" aria-label={t("fields")}>
              {facetList.map((f) => (
                <details key={f.name} open={f.distinct <= 10}>
                  <summary>
                    {f.name} <span class="muted">({f.distinct})</span>
                  </summary>
                  <ul>
                    {f.top.map(([v, n]) => (
                      <li key={v}>
                        <button type="button" class="link" title={t("filterFor")} onClick={() => filter(f.name, v, result.streamLabels.has(f.name), false)}>
                          {v || '""'}
                        </button>{" "}
                        <span class="muted">{n}</span>
                      </li>
                    ))}
                  </ul>
                </details>
              ))}
            </aside>
            {result.entries.length === 0 ? (
              <p class="empty">{t("noResults")}</p>
            ) : (
              <LogList
                entries={result.entries}
                utc={utc}
                wrap={wrap}
                streamLabels={(e) => new Set(Object.keys(e.labels).filter((k) => result.streamLabels.has(k)))}
                patternOf={(e) => result.patterns.get(e.labels.pattern_id)}
                onFilter={filter}
              />
            )}
          </div>
        </div>
      )}
      {result?.kind === "metric" && metricCols && (
        <div class="results">
          <div class="toolbar">
            <span class="count">
              {result.matrix.length} {t("series")} · {result.took} ms
            </span>
            <div role="group" aria-label={t("chart")}>
              <button type="button" class="secondary" aria-pressed={!table} onClick={() => navigate({ table: undefined }, false)}>
                {t("chart")}
              </button>
              <button type="button" class="secondary" aria-pressed={table} onClick={() => navigate({ table: "1" }, false)}>
                {t("table")}
              </button>
            </div>
            <SaveQuery query={query} />
          </div>
          {result.matrix.length === 0 ? (
            <p class="empty">{t("noResults")}</p>
          ) : table ? (
            <SeriesTable series={result.matrix} utc={utc} />
          ) : (
            <Chart times={metricCols.times} series={metricCols.series} utc={utc} height={320} label={t("chart")} xRange={[range[0] / 1e3, range[1] / 1e3]} onZoom={zoom} />
          )}
        </div>
      )}
    </section>
  );
}

/** Metric series as a table: each series' last value, and its range. */
export function SeriesTable({ series, utc }: { series: api.Series[]; utc: boolean }) {
  const fmt = (n: number) => String(Number(n.toPrecision(6)));
  return (
    <table class="series-table">
      <thead>
        <tr>
          <th scope="col">{t("series")}</th>
          <th scope="col">{t("time")}</th>
          <th scope="col">{t("value")}</th>
          <th scope="col">min</th>
          <th scope="col">max</th>
          <th scope="col">avg</th>
        </tr>
      </thead>
      <tbody>
        {series.map((s) => {
          const last = s.values[s.values.length - 1];
          const nums = s.values.map((v) => Number(v[1]));
          return (
            <tr key={seriesName(s.metric)}>
              <td>{seriesName(s.metric)}</td>
              <td>{last ? formatTime(Number(last[0]) * 1e3, utc) : ""}</td>
              <td>{last ? last[1] : ""}</td>
              <td>{fmt(Math.min(...nums))}</td>
              <td>{fmt(Math.max(...nums))}</td>
              <td>{fmt(nums.reduce((a, b) => a + b, 0) / Math.max(1, nums.length))}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Labels that usually name a service, tried in order for the start page. */
const SERVICE_LABELS = ["service_name", "app", "job", "service", "namespace", "host"];

/** With no query yet: one click to a service's logs, and the team's saved queries. */
function StartHere({ range }: { range: [number, number] }) {
  const [label, setLabel] = useState<string | null>(null);
  const [values, setValues] = useState<string[]>([]);
  const [saved, setSaved] = useState<api.SavedQuery[]>([]);
  useEffect(() => {
    api.labelNames(range[0], range[1]).then(async (names) => {
      const found = SERVICE_LABELS.find((l) => names.includes(l)) ?? names[0];
      if (!found) return;
      setLabel(found);
      setValues((await api.labelValues(found, range[0], range[1])).slice(0, 50));
    }, () => undefined);
    api.savedQueries().then(setSaved, () => undefined);
  }, []);
  if (!label && !saved.length) return null;
  return (
    <div class="start-here">
      {label && values.length > 0 && (
        <>
          <h2>{label}</h2>
          <ul class="chips">
            {values.map((v) => (
              <li key={v}>
                <button type="button" class="secondary" onClick={() => navigate({ q: `{${label}=${JSON.stringify(v)}}` })}>
                  {v}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {saved.length > 0 && (
        <>
          <h2>{t("saved")}</h2>
          <ul class="chips">
            {saved.slice(0, 20).map((q) => (
              <li key={q.id}>
                <button type="button" class="secondary" title={q.query} onClick={() => navigate({ q: q.query })}>
                  {q.name}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
