// The LogQL editor: a textarea with completion of label names and values,
// pipeline stages and field values, and the parser's error shown where it
// points. Ctrl/Cmd+Enter runs the query.
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { t } from "../lib/i18n";
import { completionContext, errorOffset, selectorOf, STAGES } from "../lib/logql";

interface Props {
  value: string;
  onChange: (q: string) => void;
  onRun: () => void;
  range: [number, number];
}

/** Suggestions for the text before the cursor. */
async function suggestions(query: string, cursor: number, range: [number, number]): Promise<string[]> {
  const ctx = completionContext(query, cursor);
  const [start, end] = range;
  let all: string[] = [];
  switch (ctx.kind) {
    case "label-name":
      all = await api.labelNames(start, end);
      break;
    case "label-value":
      all = await api.labelValues(ctx.label, start, end);
      break;
    case "stage": {
      const fields = await api.detectedFields(selectorOf(query), start, end).catch(() => []);
      all = [...STAGES, ...fields.map((f) => f.label)];
      break;
    }
    case "field-value":
      all = await api.detectedFieldValues(ctx.field, selectorOf(query), start, end).catch(() => []);
      break;
    default:
      return [];
  }
  const prefix = ctx.prefix.toLowerCase();
  return all.filter((s) => s.toLowerCase().startsWith(prefix) && s !== ctx.prefix).slice(0, 50);
}

/** The LogQL editor. */
export function QueryEditor({ value, onChange, onRun, range }: Props) {
  const area = useRef<HTMLTextAreaElement>(null);
  const [items, setItems] = useState<string[]>([]);
  const [active, setActive] = useState(0);
  const [error, setError] = useState<string | null>(null);

  // Check syntax while typing, through the server's own parser.
  useEffect(() => {
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      if (!value.trim()) return setError(null);
      api.checkQuery(value, ctl.signal).then(setError, () => undefined);
    }, 300);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [value]);

  // Answers may come back out of order; only the latest request's counts.
  const latest = useRef(0);
  const complete = async () => {
    const el = area.current;
    if (!el) return;
    const ticket = ++latest.current;
    const list = await suggestions(el.value, el.selectionStart, range).catch(() => []);
    if (ticket !== latest.current) return;
    setItems(list);
    setActive(0);
  };

  const accept = (item: string) => {
    const el = area.current;
    if (!el) return;
    const cursor = el.selectionStart;
    const before = el.value.slice(0, cursor);
    const word = /[A-Za-z0-9_.\-/:]*$/.exec(before)?.[0] ?? "";
    const next = before.slice(0, before.length - word.length) + item + el.value.slice(cursor);
    const pos = cursor - word.length + item.length;
    // Set the text and cursor now: deferring the cursor (to a frame) lets
    // a key typed in between land at the old position.
    el.value = next;
    el.setSelectionRange(pos, pos);
    el.focus();
    onChange(next);
    latest.current++; // answers still on their way are for the old text
    setItems([]);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey || e.shiftKey)) {
      e.preventDefault();
      setItems([]);
      onRun();
      return;
    }
    if (items.length) {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        setActive((a) => (a + 1) % items.length);
      } else if (e.key === "ArrowUp") {
        e.preventDefault();
        setActive((a) => (a - 1 + items.length) % items.length);
      } else if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        accept(items[active]);
      } else if (e.key === "Escape") {
        setItems([]);
      }
    } else if (e.key === " " && e.ctrlKey) {
      e.preventDefault();
      complete();
    }
  };

  const at = error ? errorOffset(error, value) : null;
  return (
    <div class="editor">
      <label for="query" class="visually-hidden">
        {t("query")}
      </label>
      <textarea
        id="query"
        ref={area}
        class={error ? "invalid" : ""}
        value={value}
        rows={Math.min(6, value.split("\n").length + 1)}
        spellcheck={false}
        aria-invalid={!!error}
        aria-describedby={error ? "query-error" : undefined}
        aria-autocomplete="list"
        aria-controls={items.length ? "completions" : undefined}
        onInput={(e) => {
          onChange((e.currentTarget as HTMLTextAreaElement).value);
          complete();
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setItems([]), 150)}
      />
      {items.length > 0 && (
        <ul id="completions" class="completions" role="listbox" aria-label="completions">
          {items.map((item, i) => (
            <li
              key={item}
              role="option"
              aria-selected={i === active}
              class={i === active ? "active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(item);
              }}
            >
              {item}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <div id="query-error" class="query-error" role="alert">
          {at !== null && (
            <pre class="caret" aria-hidden="true">
              {value.slice(0, at).split("\n").pop()!.replace(/[^\t]/g, " ")}^
            </pre>
          )}
          {error}
        </div>
      )}
    </div>
  );
}
