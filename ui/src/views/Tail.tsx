// Live tail over Loki's tail WebSocket. At thousands of lines a second the
// list would be unreadable and the page would fall behind, so each quarter
// second shows at most a few dozen lines, evenly sampled, and counts the
// rest as skipped.
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { LogList } from "../components/LogList";
import { flatten, type Entry } from "../lib/entries";
import { t } from "../lib/i18n";
import { navigate } from "../lib/url";

/** How often the list is updated. */
const TICK_MS = 250;
/** Most lines shown per tick (so at most 160 a second). */
const SHOWN_PER_TICK = 40;
/** Lines kept on screen. */
const KEEP = 2000;

/** Every `n`-th of `items` so that about `max` remain, oldest first kept in order. */
function sample<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const out: T[] = [];
  const stride = items.length / max;
  for (let i = 0; i < max; i++) out.push(items[Math.floor(i * stride)]);
  return out;
}

/** The live tail view. */
export function Tail({ params, utc }: { params: URLSearchParams; utc: boolean }) {
  const query = params.get("q") ?? "";
  const [draft, setDraft] = useState(query);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [paused, setPaused] = useState(false);
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [stats, setStats] = useState({ rate: 0, skipped: 0, received: 0 });
  const pending = useRef<Entry[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const counters = useRef({ skipped: 0, received: 0, window: [] as [number, number][] });

  useEffect(() => setDraft(query), [query]);

  useEffect(() => {
    if (!query.trim()) return;
    setEntries([]);
    setError(null);
    counters.current = { skipped: 0, received: 0, window: [] };
    const ws = new WebSocket(api.tailUrl(query, Date.now() - 5000, 100));
    ws.onopen = () => setConnected(true);
    ws.onclose = (e) => {
      setConnected(false);
      if (e.code !== 1000 && e.code !== 1005) setError(e.reason || `closed (${e.code})`);
    };
    ws.onerror = () => setError(t("disconnected"));
    ws.onmessage = (msg) => {
      try {
        const body = JSON.parse(msg.data as string);
        const batch = flatten(body.streams ?? []).reverse(); // oldest first
        counters.current.received += batch.length;
        counters.current.skipped += (body.dropped_entries ?? []).length;
        counters.current.window.push([Date.now(), batch.length]);
        if (pausedRef.current) counters.current.skipped += batch.length;
        else pending.current.push(...batch);
      } catch {
        setError("the server sent a message that is not JSON");
      }
    };
    const timer = setInterval(() => {
      const c = counters.current;
      const now = Date.now();
      c.window = c.window.filter(([at]) => now - at < 1000);
      const batch = pending.current;
      pending.current = [];
      const shown = sample(batch, SHOWN_PER_TICK);
      c.skipped += batch.length - shown.length;
      if (shown.length) setEntries((old) => [...shown.reverse(), ...old].slice(0, KEEP));
      setStats({ rate: c.window.reduce((a, [, n]) => a + n, 0), skipped: c.skipped, received: c.received });
    }, TICK_MS);
    return () => {
      clearInterval(timer);
      ws.close(1000);
    };
  }, [query]);

  return (
    <section aria-labelledby="tail-title">
      <h1 id="tail-title">{t("tail")}</h1>
      <form
        class="querybar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate({ q: draft });
        }}
      >
        <label for="tail-query" class="visually-hidden">
          {t("query")}
        </label>
        <input id="tail-query" class="grow mono" value={draft} placeholder='{job="api"}' onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit">{t("run")}</button>
      </form>
      <div class="toolbar">
        <span class="count" role="status" aria-live="off">
          <span class={connected ? "dot on" : "dot"} aria-hidden="true" /> {connected ? t("connected") : t("disconnected")} · {stats.rate} {t("perSecond")} ·{" "}
          <span id="tail-received">{stats.received}</span> {t("lines")} · <span id="tail-skipped">{stats.skipped}</span> {t("skipped")}
        </span>
        <button type="button" class="secondary" aria-pressed={paused} onClick={() => setPaused(!paused)}>
          {paused ? t("resume") : t("pause")}
        </button>
        <button type="button" class="secondary" onClick={() => setEntries([])}>
          {t("clear")}
        </button>
      </div>
      {error && (
        <div class="error" role="alert">
          {error}
        </div>
      )}
      <LogList
        entries={entries}
        utc={utc}
        wrap={false}
        streamLabels={(e) => new Set(Object.keys(e.labels))}
        patternOf={() => undefined}
        onFilter={(name, value, _isStream, exclude) => navigate({ view: "explore", q: `${query} | ${name}${exclude ? "!=" : "="}${JSON.stringify(value)}` })}
      />
    </section>
  );
}
