// One dashboard panel: a query drawn as a time series, stacked bars, a
// table, a single number, or log lines.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { flatten, type Entry } from "../lib/entries";
import { t } from "../lib/i18n";
import { stepFor } from "../lib/time";
import { Chart } from "./Chart";
import { ErrorBox } from "./Loading";
import { LogList } from "./LogList";
import { SeriesTable, toColumns } from "../views/Explore";

/** The kinds of panel. */
export const PANEL_TYPES = ["timeseries", "bars", "table", "stat", "logs"] as const;
export type PanelType = (typeof PANEL_TYPES)[number];

/** A panel as a dashboard document holds it. */
export interface PanelDef {
  title: string;
  type: PanelType;
  query: string;
}

interface Props {
  panel: PanelDef;
  query: string; // with variables substituted
  range: [number, number];
  refresh: number; // changes to re-run
  utc: boolean;
}

/** The sum of each series' last value: what a single-stat panel shows. */
function lastTotal(series: api.Series[]): number {
  return series.reduce((acc, s) => acc + Number(s.values[s.values.length - 1]?.[1] ?? 0), 0);
}

/** A panel, run over `range`. */
export function Panel({ panel, query, range, refresh, utc }: Props) {
  const [series, setSeries] = useState<api.Series[] | null>(null);
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!query.trim()) return;
    const ctl = new AbortController();
    const [start, end] = range;
    api
      .queryRange(query, start, end, { step: stepFor(start, end, 80), limit: 200, signal: ctl.signal })
      .then((d) => {
        setError(null);
        if (d.resultType === "streams") {
          setEntries(flatten(d.result));
          setSeries(null);
        } else if (d.resultType === "matrix") {
          setSeries(d.result);
          setEntries(null);
        }
      }, (e) => !ctl.signal.aborted && setError(e));
    return () => ctl.abort();
  }, [query, range[0], range[1], refresh]);

  let body = null;
  if (error !== null) body = <ErrorBox error={error} />;
  else if (entries) {
    body = (
      <LogList entries={entries} utc={utc} wrap={false} streamLabels={(e) => new Set(Object.keys(e.labels))} patternOf={() => undefined} onFilter={() => undefined} />
    );
  } else if (series) {
    if (series.length === 0) body = <p class="empty">{t("noResults")}</p>;
    else if (panel.type === "stat") body = <p class="stat-value">{Number(lastTotal(series).toPrecision(6)).toLocaleString()}</p>;
    else if (panel.type === "table") body = <SeriesTable series={series} utc={utc} />;
    else {
      const cols = toColumns(series);
      body = <Chart times={cols.times} series={cols.series} bars={panel.type === "bars"} utc={utc} height={200} label={panel.title} xRange={[range[0] / 1e3, range[1] / 1e3]} />;
    }
  } else body = <p class="muted">{t("loading")}</p>;
  return <div class={`panel-body panel-${panel.type}`}>{body}</div>;
}
