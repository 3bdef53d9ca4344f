// Log entries in a virtualised list; each expands to its labels, fields,
// pattern and trace id, with buttons that narrow or widen the query.
import { useState } from "preact/hooks";
import { type Entry, INTERNAL } from "../lib/entries";
import { t } from "../lib/i18n";
import { formatTime } from "../lib/time";
import { VirtualList } from "./VirtualList";

interface Props {
  entries: Entry[];
  streamLabels: (entry: Entry) => Set<string>;
  patternOf: (entry: Entry) => string | undefined;
  utc: boolean;
  wrap: boolean;
  onFilter: (name: string, value: string, isStreamLabel: boolean, exclude: boolean) => void;
}

const TRACE_KEYS = ["trace_id", "traceid", "traceID", "traceId"];

function Details({ entry, streamLabels, pattern, onFilter }: { entry: Entry; streamLabels: Set<string>; pattern?: string; onFilter: Props["onFilter"] }) {
  const trace = TRACE_KEYS.map((k) => entry.labels[k]).find(Boolean);
  const rows = Object.entries(entry.labels).filter(([k]) => !INTERNAL.has(k));
  return (
    <div class="details">
      <table>
        <caption class="visually-hidden">
          {t("labels")} / {t("fields")}
        </caption>
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">
                {k}
                {streamLabels.has(k) ? "" : " ·"}
              </th>
              <td class="value">{v}</td>
              <td class="actions">
                <button type="button" class="icon" aria-label={`${t("filterFor")} ${k}=${v}`} title={t("filterFor")} onClick={() => onFilter(k, v, streamLabels.has(k), false)}>
                  ⊕
                </button>
                <button type="button" class="icon" aria-label={`${t("filterOut")} ${k}=${v}`} title={t("filterOut")} onClick={() => onFilter(k, v, streamLabels.has(k), true)}>
                  ⊖
                </button>
              </td>
            </tr>
          ))}
          {pattern && (
            <tr>
              <th scope="row">{t("pattern")}</th>
              <td class="value" colSpan={2}>
                <code>{pattern}</code>
              </td>
            </tr>
          )}
          {trace && (
            <tr>
              <th scope="row">{t("traceId")}</th>
              <td class="value" colSpan={2}>
                <code>{trace}</code>
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** The result list of a log query. */
export function LogList({ entries, streamLabels, patternOf, utc, wrap, onFilter }: Props) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (key: string) => {
    const next = new Set(open);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setOpen(next);
  };
  return (
    <VirtualList
      count={entries.length}
      estimate={wrap ? 40 : 22}
      layoutKey={`${entries.length}:${wrap}:${entries[0]?.ns ?? ""}:${open.size}`}
      label={t("lines")}
      render={(i) => {
        const e = entries[i];
        const key = `${e.ns}:${i}`;
        const expanded = open.has(key);
        return (
          <div class={`entry level-${e.level}${wrap ? " wrap" : ""}`}>
            <button type="button" class="entry-row" aria-expanded={expanded} onClick={() => toggle(key)}>
              <span class="ts">{formatTime(e.ms, utc)}</span>
              <span class="lvl">{e.level}</span>
              <span class="line">{e.line}</span>
            </button>
            {expanded && <Details entry={e} streamLabels={streamLabels(e)} pattern={patternOf(e)} onFilter={onFilter} />}
          </div>
        );
      }}
    />
  );
}
