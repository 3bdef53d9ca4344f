// The time range: quick relative choices, or absolute times typed in; and
// the zone times are shown in.
import { useState } from "preact/hooks";
import { t } from "../lib/i18n";
import { formatTime, parseTime } from "../lib/time";

const QUICK = ["5m", "15m", "1h", "6h", "24h", "7d"];

interface Props {
  from: string;
  to: string;
  utc: boolean;
  onChange: (from: string, to: string) => void;
  onZone: (utc: boolean) => void;
}

/** The time range picker. */
export function TimePicker({ from, to, utc, onChange, onZone }: Props) {
  const [draftFrom, setDraftFrom] = useState(from);
  const [draftTo, setDraftTo] = useState(to);
  const [open, setOpen] = useState(false);
  const quick = to === "now" && from.startsWith("now-") ? from.slice(4) : "";
  const fromMs = parseTime(from);
  const toMs = parseTime(to);
  const summary = quick
    ? `${t("lastN")} ${quick}`
    : `${fromMs !== null ? formatTime(fromMs, utc) : from} → ${toMs !== null ? formatTime(toMs, utc) : to}`;
  const bad = parseTime(draftFrom) === null || parseTime(draftTo) === null;
  return (
    <div class="timepicker">
      <label for="range-quick" class="visually-hidden">
        {t("timeRange")}
      </label>
      <select
        id="range-quick"
        value={quick || "custom"}
        onChange={(e) => {
          const v = (e.currentTarget as HTMLSelectElement).value;
          if (v === "custom") setOpen(true);
          else onChange(`now-${v}`, "now");
        }}
      >
        {QUICK.map((q) => (
          <option key={q} value={q}>
            {t("lastN")} {q}
          </option>
        ))}
        <option value="custom">{quick ? t("custom") : summary}</option>
      </select>
      <button type="button" class="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
        {t("custom")}
      </button>
      <button type="button" class="secondary" aria-pressed={utc} onClick={() => onZone(!utc)}>
        {utc ? t("utc") : t("local")}
      </button>
      {open && (
        <form
          class="popover"
          onSubmit={(e) => {
            e.preventDefault();
            if (bad) return;
            onChange(draftFrom, draftTo);
            setOpen(false);
          }}
        >
          <label>
            {t("from")} <input value={draftFrom} onInput={(e) => setDraftFrom((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <label>
            {t("to")} <input value={draftTo} onInput={(e) => setDraftTo((e.currentTarget as HTMLInputElement).value)} />
          </label>
          <small>now-1h, 2026-12-05T10:00:00Z</small>
          <button type="submit" disabled={bad}>
            {t("apply")}
          </button>
        </form>
      )}
    </div>
  );
}
