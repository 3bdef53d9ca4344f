// Log answers flattened into entries, newest first, with the facts the
// list, facets and downloads need.
import type { Stream } from "./api";
import { levelOf, type Level } from "./level";

/** One log entry. */
export interface Entry {
  /** Nanoseconds since the epoch, as the server sent it. */
  ns: string;
  ms: number;
  line: string;
  labels: Record<string, string>;
  level: Level;
}

/** Newest first; nanosecond strings break ties of the same millisecond. */
function newestFirst(a: Entry, b: Entry): number {
  if (a.ms !== b.ms) return b.ms - a.ms;
  if (a.ns.length !== b.ns.length) return b.ns.length - a.ns.length;
  return b.ns < a.ns ? -1 : b.ns > a.ns ? 1 : 0;
}

function entryOf(s: Stream, [ns, line, meta]: Stream["values"][number]): Entry {
  const labels = meta ? { ...s.stream, ...meta } : s.stream;
  return { ns, ms: Number(ns.slice(0, -6)) || 0, line, labels, level: levelOf(labels, line) };
}

/** The entries of `streams`, newest first. */
export function flatten(streams: Stream[]): Entry[] {
  const out: Entry[] = [];
  for (const s of streams) for (const v of s.values) out.push(entryOf(s, v));
  return out.sort(newestFirst);
}

/** Lets the browser paint and handle input between chunks of work. */
export const yieldToBrowser = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** [`flatten`] in chunks, yielding between them, so 100,000 entries never block the page for long. */
export async function flattenInChunks(streams: Stream[], chunk = 10_000): Promise<Entry[]> {
  const out: Entry[] = [];
  let done = 0;
  for (const s of streams) {
    for (const v of s.values) {
      out.push(entryOf(s, v));
      if (++done % chunk === 0) await yieldToBrowser();
    }
  }
  await yieldToBrowser();
  return out.sort(newestFirst);
}

/** Labels Basin adds for the UI's own request, hidden from entry details. */
export const INTERNAL = new Set(["pattern_id", "log_format"]);

/** A field's top values over the loaded entries. */
export interface Facet {
  name: string;
  distinct: number;
  top: [string, number][];
}

/** Top values of each label over `entries`, most frequent first, counted in chunks between which the browser may paint. */
export async function facets(entries: Entry[], limit = 5, chunk = 20_000): Promise<Facet[]> {
  const counts = new Map<string, Map<string, number>>();
  let done = 0;
  for (const e of entries) {
    if (++done % chunk === 0) await yieldToBrowser();
    for (const [k, v] of Object.entries(e.labels)) {
      if (INTERNAL.has(k)) continue;
      let m = counts.get(k);
      if (!m) counts.set(k, (m = new Map()));
      m.set(v, (m.get(v) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .map(([name, m]) => ({
      name,
      distinct: m.size,
      top: [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `entries` as NDJSON, one object per line. */
export function toNdjson(entries: Entry[]): string {
  return entries
    .map((e) => JSON.stringify({ timestamp: new Date(e.ms).toISOString(), ns: e.ns, labels: e.labels, line: e.line }))
    .join("\n");
}

/** `entries` as CSV: time, level, labels (as LogQL), line. */
export function toCsv(entries: Entry[]): string {
  const rows = ["timestamp,level,labels,line"];
  for (const e of entries) {
    const labels = Object.entries(e.labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(", ");
    rows.push([new Date(e.ms).toISOString(), e.level, `{${labels}}`, e.line].map(csvCell).join(","));
  }
  return rows.join("\n");
}

/** Offer `text` as a file download. */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
