// What a long request shows: elapsed time and a cancel button.
import { useEffect, useState } from "preact/hooks";
import { t } from "../lib/i18n";

/** A progress line for a request started at `since`. */
export function Loading({ since, onCancel }: { since: number; onCancel?: () => void }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 100);
    return () => clearInterval(timer);
  }, []);
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {t("running")} {((Date.now() - since) / 1e3).toFixed(1)} s
      {onCancel && (
        <button type="button" class="secondary" onClick={onCancel}>
          {t("cancel")}
        </button>
      )}
    </div>
  );
}

/** An API error in words, beside what caused it. */
export function ErrorBox({ error, context }: { error: unknown; context?: string }) {
  const msg = error instanceof Error ? error.message : String(error);
  const status = (error as { status?: number })?.status;
  return (
    <div class="error" role="alert">
      {context && <strong>{context}: </strong>}
      {status ? `HTTP ${status}: ` : ""}
      {msg}
    </div>
  );
}
