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

/** The entries of `streams`, newest first. */
export function flatten(streams: Stream[]): Entry[] {
  const out: Entry[] = [];
  for (const s of streams) {
    for (const [ns, line, meta] of s.values) {
      const labels = meta ? { ...s.stream, ...meta } : s.stream;
      out.push({ ns, ms: Number(ns.slice(0, -6)) || 0, line, labels, level: levelOf(labels, line) });
    }
  }
  out.sort((a, b) => (a.ns.length !== b.ns.length ? b.ns.length - a.ns.length : b.ns < a.ns ? -1 : b.ns > a.ns ? 1 : 0));
  return out;
}

/** Labels Basin adds for the UI's own request, hidden from entry details. */
export const INTERNAL = new Set(["pattern_id", "log_format"]);

/** Top values of each label over `entries`, most frequent first. */
export function facets(entries: Entry[], limit = 5): { name: string; distinct: number; top: [string, number][] }[] {
  const counts = new Map<string, Map<string, number>>();
  for (const e of entries) {
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
