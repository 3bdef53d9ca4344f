// Small edits to a LogQL query that the UI's buttons make, and the context
// the editor completes in. The server parses; this only looks at the text.

/** `value` quoted as a LogQL string. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** Whether a label name is plain enough to use unquoted. */
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The end of the stream selector `{...}` at the start of `query`, or -1. */
function selectorEnd(query: string): number {
  const start = query.indexOf("{");
  if (start < 0) return -1;
  let inString = false;
  for (let i = start + 1; i < query.length; i++) {
    const c = query[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "}") return i;
  }
  return -1;
}

/** Whether `query` is a metric query (an aggregation or range function around logs). */
export function isMetricQuery(query: string): boolean {
  const head = query.trimStart();
  return !head.startsWith("{");
}

/**
 * `query` narrowed to entries where `name` is (or, with `exclude`, is not)
 * `value`: stream labels go into the selector, other fields become a label
 * filter stage at the end.
 */
export function addFilter(query: string, name: string, value: string, isStreamLabel: boolean, exclude = false): string {
  if (!IDENT.test(name)) return query;
  const op = exclude ? "!=" : "=";
  const matcher = `${name}${op}${quote(value)}`;
  if (isStreamLabel && !exclude) {
    const end = selectorEnd(query);
    if (end > 0) {
      const inner = query.slice(query.indexOf("{") + 1, end).trim();
      return `${query.slice(0, query.indexOf("{") + 1)}${inner ? `${inner}, ` : ""}${matcher}${query.slice(end)}`;
    }
  }
  return `${query.trimEnd()} | ${matcher}`;
}

/** `query` with a line filter added (`|=` or, with `exclude`, `!=`). */
export function addLineFilter(query: string, text: string, exclude = false): string {
  return `${query.trimEnd()} ${exclude ? "!=" : "|="} ${quote(text)}`;
}

/** The stream selector of `query`, `{}` when it has none. */
export function selectorOf(query: string): string {
  const end = selectorEnd(query);
  return end > 0 ? query.slice(query.indexOf("{"), end + 1) : "{}";
}

/** What the editor should offer at the cursor. */
export type CompletionContext =
  | { kind: "label-name"; prefix: string }
  | { kind: "label-value"; label: string; prefix: string }
  | { kind: "stage"; prefix: string }
  | { kind: "field-value"; field: string; prefix: string }
  | { kind: "none" };

/** The completion context of `query` at `cursor`. */
export function completionContext(query: string, cursor: number): CompletionContext {
  const before = query.slice(0, cursor);
  const open = before.lastIndexOf("{");
  const close = before.lastIndexOf("}");
  const quotes = (before.match(/(?<!\\)"/g) ?? []).length;
  if (open > close) {
    const inner = before.slice(open + 1);
    const value = /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)$/.exec(inner);
    if (value) return { kind: "label-value", label: value[1], prefix: value[3] };
    const name = /(?:^|,)\s*([A-Za-z_][A-Za-z0-9_]*)?$/.exec(inner);
    if (name && quotes % 2 === 0) return { kind: "label-name", prefix: name[1] ?? "" };
    return { kind: "none" };
  }
  if (close < 0) return { kind: "none" };
  const fieldValue = /\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)$/.exec(before);
  if (fieldValue && quotes % 2 === 1) return { kind: "field-value", field: fieldValue[1], prefix: fieldValue[3] };
  const stage = /\|\s*([A-Za-z_][A-Za-z0-9_]*)?$/.exec(before);
  if (stage && quotes % 2 === 0) return { kind: "stage", prefix: stage[1] ?? "" };
  return { kind: "none" };
}

/** The pipeline stages LogQL has, for completion after `|`. */
export const STAGES = [
  "json", "logfmt", "pattern", "regexp", "unpack", "line_format", "label_format",
  "drop", "keep", "decolorize", "unwrap",
];

/** A 0-based offset named by a parse error (`line 1, col 12` or `at 12`), or null. */
export function errorOffset(message: string, query: string): number | null {
  const lc = /line (\d+),? col(?:umn)? (\d+)/i.exec(message);
  if (lc) {
    const lines = query.split("\n");
    const line = Math.min(Number(lc[1]) - 1, lines.length - 1);
    let off = 0;
    for (let i = 0; i < line; i++) off += lines[i].length + 1;
    return Math.min(off + Number(lc[2]) - 1, query.length);
  }
  const at = /(?:at|position|offset) (\d+)/i.exec(message);
  return at ? Math.min(Number(at[1]), query.length) : null;
}
