// Sign-in when auth is on: a token, exchanged for an HttpOnly session
// cookie, so scripts in the page never hold it.
import { useState } from "preact/hooks";
import * as api from "../lib/api";
import { t } from "../lib/i18n";
import { ErrorBox } from "../components/Loading";

/** The sign-in form. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>(null);
  return (
    <form
      class="signin"
      aria-labelledby="signin-title"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.signIn(token.trim());
          onSignedIn();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <h1 id="signin-title">{t("signIn")}</h1>
      <p>{t("signInHelp")}</p>
      <label for="token">{t("token")}</label>
      <input id="token" type="password" autoComplete="current-password" required value={token} onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} />
      {error !== null && <ErrorBox error={error} />}
      <button type="submit">{t("signIn")}</button>
    </form>
  );
}
