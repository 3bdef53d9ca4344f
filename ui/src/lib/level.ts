// Log levels as Loki 3 names them (`detected_level`), for colours.

/** The levels, most severe first. */
export const LEVELS = ["critical", "error", "warn", "info", "debug", "trace", "unknown"] as const;
export type Level = (typeof LEVELS)[number];

const ALIASES: Record<string, Level> = {
  fatal: "critical", crit: "critical", critical: "critical", emerg: "critical", alert: "critical", panic: "critical",
  error: "error", err: "error", eror: "error",
  warn: "warn", warning: "warn", wrn: "warn",
  info: "info", inf: "info", information: "info", notice: "info",
  debug: "debug", dbg: "debug", trace: "trace", trc: "trace",
};

/** A level name normalised, `unknown` when it is none. */
export function normaliseLevel(raw: string | undefined): Level {
  return (raw && ALIASES[raw.toLowerCase()]) || "unknown";
}

/** The level of an entry: its labels first, then a word in the line. */
export function levelOf(labels: Record<string, string>, line: string): Level {
  for (const k of ["detected_level", "level", "severity", "lvl"]) {
    if (labels[k]) {
      const l = normaliseLevel(labels[k]);
      if (l !== "unknown") return l;
    }
  }
  const m = /\b(FATAL|CRITICAL|ERROR|ERR|WARN|WARNING|INFO|DEBUG|TRACE)\b/i.exec(line.slice(0, 200));
  return normaliseLevel(m?.[1]);
}
