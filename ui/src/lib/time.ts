// Times as the URL holds them: `now`, `now-15m`, or an ISO date; shown in
// the browser's zone or UTC.

const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/** Milliseconds since the epoch of `text` at `now`, or null when it is not a time. */
export function parseTime(text: string, now = Date.now()): number | null {
  const t = text.trim();
  if (t === "now") return now;
  const rel = /^now-(\d+)([smhdw])$/.exec(t);
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]];
  if (/^\d{10,13}$/.test(t)) return t.length === 13 ? Number(t) : Number(t) * 1e3;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? null : ms;
}

/** A duration like `15m` in milliseconds, or null. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]] : null;
}

/** `ms` as `YYYY-MM-DD HH:MM:SS.mmm` in the local zone or UTC. */
export function formatTime(ms: number, utc: boolean): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const [y, mo, da, h, mi, s, milli] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  return `${y}-${p(mo)}-${p(da)} ${p(h)}:${p(mi)}:${p(s)}.${p(milli, 3)}`;
}

/** A step that gives about `points` buckets over [start, end], in whole seconds. */
export function stepFor(startMs: number, endMs: number, points = 120): number {
  const raw = Math.max(1, (endMs - startMs) / 1e3 / points);
  const nice = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  return nice.find((n) => n >= raw) ?? Math.ceil(raw / 86400) * 86400;
}
