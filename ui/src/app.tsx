// The shell: navigation between views, language, theme, sign-in, and the
// keyboard shortcuts that work everywhere.
import { useEffect, useState } from "preact/hooks";
import * as api from "./lib/api";
import { lang, setLang, t, useLang, type Key } from "./lib/i18n";
import { navigate, useUrlParams } from "./lib/url";
import { Alerts } from "./views/Alerts";
import { Dashboards } from "./views/Dashboards";
import { Explore } from "./views/Explore";
import { Patterns } from "./views/Patterns";
import { Saved } from "./views/Saved";
import { SignIn } from "./views/SignIn";
import { Tail } from "./views/Tail";

const VIEWS: { id: string; key: Key }[] = [
  { id: "explore", key: "explore" },
  { id: "tail", key: "tail" },
  { id: "patterns", key: "patterns" },
  { id: "alerts", key: "alerts" },
  { id: "saved", key: "saved" },
  { id: "dashboards", key: "dashboards" },
];

function initialTheme(): "dark" | "light" {
  const saved = localStorage.getItem("basin.theme");
  if (saved === "dark" || saved === "light") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/** The whole app. */
export function App() {
  useLang();
  const params = useUrlParams();
  const view = params.get("view") ?? "explore";
  const utc = params.get("tz") === "utc";
  const [theme, setTheme] = useState(initialTheme);
  const [session, setSession] = useState<api.Session | null>(null);
  const [sessionError, setSessionError] = useState<unknown>(null);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("basin.theme", theme);
  }, [theme]);

  const loadSession = () => api.session().then(setSession, setSessionError);
  useEffect(() => void loadSession(), []);

  // "/" focuses the query editor, as in most search UIs.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      const typing = target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable;
      if (e.key === "/" && !typing) {
        const editor = document.getElementById("query");
        if (editor) {
          e.preventDefault();
          editor.focus();
        }
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  const needsSignIn = session?.auth_required && !session.signed_in;
  return (
    <>
      <a class="skip" href="#main">
        {t("skipLink")}
      </a>
      <header class="topbar">
        <span class="brand">Basin</span>
        <nav aria-label="views">
          {VIEWS.map((v) => (
            <a
              key={v.id}
              href={`?view=${v.id}`}
              aria-current={view === v.id ? "page" : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate({ view: v.id }, true, v.id !== view);
              }}
            >
              {t(v.key)}
            </a>
          ))}
        </nav>
        <div class="spacer" />
        <label class="visually-hidden" for="lang">
          {t("language")}
        </label>
        <select id="lang" value={lang()} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as "en" | "ko")}>
          <option value="en">English</option>
          <option value="ko">한국어</option>
        </select>
        <button type="button" class="secondary" title={t("theme")} onClick={() => setTheme(theme === "dark" ? "light" : "dark")}>
          {theme === "dark" ? t("light") : t("dark")}
        </button>
        {session?.auth_required && session.signed_in && (
          <button type="button" class="secondary" onClick={() => api.signOut().then(loadSession)}>
            {t("signOut")}
          </button>
        )}
      </header>
      <main id="main">
        {sessionError !== null && <p class="error">{String(sessionError)}</p>}
        {session === null && sessionError === null ? (
          <p>{t("loading")}</p>
        ) : needsSignIn ? (
          <SignIn onSignedIn={loadSession} />
        ) : view === "saved" ? (
          <Saved />
        ) : view === "tail" ? (
          <Tail params={params} utc={utc} />
        ) : view === "patterns" ? (
          <Patterns params={params} utc={utc} />
        ) : view === "alerts" ? (
          <Alerts params={params} utc={utc} />
        ) : view === "dashboards" ? (
          <Dashboards params={params} utc={utc} />
        ) : (
          <Explore params={params} utc={utc} />
        )}
      </main>
    </>
  );
}
