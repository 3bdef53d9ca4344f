// Patterns: the templates Basin mined from a selection of streams, with
// counts over time, level mix and first-seen time; "new since" keeps only
// patterns first seen after a time (a deploy, say). One click shows a
// pattern's lines or hides them.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { ErrorBox, Loading } from "../components/Loading";
import { TimePicker } from "../components/TimePicker";
import { lineCount, t } from "../lib/i18n";
import { normaliseLevel } from "../lib/level";
import { selectorOf } from "../lib/logql";
import { navigate } from "../lib/url";
import { formatTime, parseTime, stepFor } from "../lib/time";

/** A pattern as Basin's own endpoint lists it. */
interface BasinPattern {
  pattern_id: string;
  pattern: string;
  count: number;
  first_seen: string;
  levels: Record<string, number>;
  samples: [number, number][];
  example: string;
  group: string;
}

function Sparkline({ samples, from, to, label }: { samples: [number, number][]; from: number; to: number; label: string }) {
  const w = 160;
  const h = 28;
  const max = Math.max(1, ...samples.map((s) => s[1]));
  const span = Math.max(1, to - from);
  const points = samples.map(([ts, n]) => `${(((ts * 1e3 - from) / span) * w).toFixed(1)},${(h - (n / max) * (h - 2) - 1).toFixed(1)}`).join(" ");
  return (
    <svg class="sparkline" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}

function LevelMix({ levels }: { levels: Record<string, number> }) {
  const total = Object.values(levels).reduce((a, b) => a + b, 0) || 1;
  return (
    <span class="levelmix">
      {Object.entries(levels)
        .sort((a, b) => b[1] - a[1])
        .map(([lvl, n]) => (
          <span key={lvl} class={`chip level-${normaliseLevel(lvl)}`}>
            {lvl} {Math.round((n / total) * 100)}%
          </span>
        ))}
    </span>
  );
}

/** The patterns view. */
export function Patterns({ params, utc }: { params: URLSearchParams; utc: boolean }) {
  const query = params.get("q") ?? "";
  const from = params.get("from") ?? "now-1h";
  const to = params.get("to") ?? "now";
  const newSince = params.get("new_since") ?? "";
  const [draft, setDraft] = useState(query);
  const [since, setSince] = useState(newSince);
  const [list, setList] = useState<BasinPattern[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState<number | null>(null);
  const now = Date.now();
  const start = parseTime(from, now) ?? now - 3600e3;
  const end = parseTime(to, now) ?? now;

  useEffect(() => setDraft(query), [query]);

  useEffect(() => {
    const ctl = new AbortController();
    setRunning(Date.now());
    setError(null);
    const p = new URLSearchParams({ start: `${start}000000`, end: `${end}000000`, step: `${stepFor(start, end, 40)}s` });
    if (query.trim()) p.set("query", selectorOf(query));
    const sinceMs = newSince ? parseTime(newSince) : null;
    if (sinceMs !== null) p.set("new_since", `${sinceMs}000000`);
    api
      .call<{ data: BasinPattern[] }>(`/api/v1/patterns?${p}`, { signal: ctl.signal })
      .then((b) => setList(b.data), (e) => !ctl.signal.aborted && setError(e))
      .finally(() => setRunning(null));
    return () => ctl.abort();
  }, [query, from, to, newSince]);

  // Pattern ids are unique in a tenant, so any selector that holds the
  // pattern's streams will do; without one there is nothing to search.
  const linesOf = (p: BasinPattern, exclude: boolean) =>
    navigate({ view: "explore", q: `${selectorOf(query)} | pattern_id${exclude ? "!=" : "="}"${p.pattern_id}"` });
  const canSearch = query.trim().startsWith("{");

  return (
    <section aria-labelledby="patterns-title">
      <h1 id="patterns-title">{t("patterns")}</h1>
      <form
        class="querybar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate({ q: draft, new_since: since || undefined });
        }}
      >
        <label for="patterns-query" class="visually-hidden">
          {t("query")}
        </label>
        <input id="patterns-query" class="grow mono" value={draft} placeholder='{job="api"}' onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)} />
        <label class="inline">
          {t("newSince")}{" "}
          <input value={since} placeholder="now-15m" size={12} onInput={(e) => setSince((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <TimePicker from={from} to={to} utc={utc} onChange={(f, tt) => navigate({ from: f, to: tt })} onZone={(u) => navigate({ tz: u ? "utc" : undefined })} />
        <button type="submit">{t("run")}</button>
      </form>
      {running !== null && <Loading since={running} />}
      {error !== null && <ErrorBox error={error} context={t("patterns")} />}
      {list?.length === 0 && <p class="empty">{t("noResults")}</p>}
      {list && list.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-label={t("patterns")}>
          <table class="plain-table patterns-table">
            <thead>
              <tr>
                <th scope="col">{t("count")}</th>
                <th scope="col">{t("pattern")}</th>
                <th scope="col">{t("volume")}</th>
                <th scope="col">{t("level")}</th>
                <th scope="col">{t("firstSeen")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("showLines")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.pattern_id}>
                  <td>{p.count.toLocaleString()}</td>
                  <td>
                    <code title={p.example}>{p.pattern}</code>
                  </td>
                  <td>
                    <Sparkline samples={p.samples} from={start} to={end} label={lineCount(p.count)} />
                  </td>
                  <td>
                    <LevelMix levels={p.levels} />
                  </td>
                  <td>{formatTime(Date.parse(p.first_seen), utc)}</td>
                  <td class="nowrap">
                    <button type="button" class="secondary" disabled={!canSearch} title={canSearch ? undefined : "{job=...}"} onClick={() => linesOf(p, false)}>
                      {t("showLines")}
                    </button>{" "}
                    <button type="button" class="secondary" disabled={!canSearch} title={canSearch ? undefined : "{job=...}"} onClick={() => linesOf(p, true)}>
                      {t("exclude")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
