// Basin's public HTTP API, as the UI calls it: Loki's read API and
// Basin's own /api/v1/. The session cookie (set at sign-in) rides along
// on every same-origin request, so nothing here handles tokens.

/** An answer other than 2xx, with the server's own words. */
export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = (await res.text()).trim();
  let message = text;
  try {
    const body = JSON.parse(text);
    message = body.message ?? body.error ?? text;
  } catch {
    // plain-text error, as Loki sends
  }
  return new ApiError(res.status, message || res.statusText);
}

/** GET or POST `path`, parse JSON, throw ApiError with the server's message. */
export async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { credentials: "same-origin", ...init });
  if (!res.ok) throw await errorOf(res);
  const type = res.headers.get("content-type") ?? "";
  return (type.includes("json") ? res.json() : res.text()) as Promise<T>;
}

function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) p.set(k, String(v));
  return p.toString();
}

const ns = (ms: number) => `${Math.round(ms)}000000`;

/** One stream of a log answer. */
export interface Stream {
  stream: Record<string, string>;
  values: [string, string, Record<string, string>?][];
}
/** One series of a metric answer. */
export interface Series {
  metric: Record<string, string>;
  values: [number, string][];
}
export type QueryData =
  | { resultType: "streams"; result: Stream[] }
  | { resultType: "matrix"; result: Series[] }
  | { resultType: "vector"; result: { metric: Record<string, string>; value: [number, string] }[] };

/** `query_range` over [startMs, endMs]. */
export async function queryRange(
  query: string,
  startMs: number,
  endMs: number,
  opts: { limit?: number; step?: number; direction?: string; signal?: AbortSignal } = {},
): Promise<QueryData> {
  const body = await call<{ data: QueryData }>("/loki/api/v1/query_range", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: qs({
      query,
      start: ns(startMs),
      end: ns(endMs),
      limit: opts.limit,
      step: opts.step ? `${opts.step}s` : undefined,
      direction: opts.direction ?? "backward",
    }),
    signal: opts.signal,
  });
  return body.data;
}

/** Label names seen in [startMs, endMs]. */
export async function labelNames(startMs: number, endMs: number): Promise<string[]> {
  const b = await call<{ data?: string[] }>(`/loki/api/v1/labels?${qs({ start: ns(startMs), end: ns(endMs) })}`);
  return b.data ?? [];
}

/** Values of label `name` in [startMs, endMs]. */
export async function labelValues(name: string, startMs: number, endMs: number): Promise<string[]> {
  const b = await call<{ data?: string[] }>(
    `/loki/api/v1/label/${encodeURIComponent(name)}/values?${qs({ start: ns(startMs), end: ns(endMs) })}`,
  );
  return b.data ?? [];
}

/** A field Basin found in the lines of a query. */
export interface DetectedField {
  label: string;
  type: string;
  cardinality: number;
}

/** Fields of the lines a query selects. */
export async function detectedFields(query: string, startMs: number, endMs: number): Promise<DetectedField[]> {
  const b = await call<{ fields?: DetectedField[] }>(
    `/loki/api/v1/detected_fields?${qs({ query, start: ns(startMs), end: ns(endMs) })}`,
  );
  return b.fields ?? [];
}

/** Values of one detected field. */
export async function detectedFieldValues(
  name: string,
  query: string,
  startMs: number,
  endMs: number,
): Promise<string[]> {
  const b = await call<{ values?: string[] }>(
    `/loki/api/v1/detected_field/${encodeURIComponent(name)}/values?${qs({ query, start: ns(startMs), end: ns(endMs) })}`,
  );
  return b.values ?? [];
}

/** Whether `query` parses; the server's message when it does not. */
export async function checkQuery(query: string, signal?: AbortSignal): Promise<string | null> {
  try {
    await call<unknown>(`/loki/api/v1/format_query?${qs({ query })}`, { signal });
    return null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) return e.message;
    throw e;
  }
}

/** One pattern of a stream, with counts over time. */
export interface Pattern {
  pattern: string;
  level?: string;
  samples: [number, number][];
}

/** Patterns of the lines `query` selects, counted per `stepS`. */
export async function patterns(query: string, startMs: number, endMs: number, stepS: number): Promise<Pattern[]> {
  const b = await call<{ data?: Pattern[] }>(
    `/loki/api/v1/patterns?${qs({ query, start: ns(startMs), end: ns(endMs), step: `${stepS}s` })}`,
  );
  return b.data ?? [];
}

/** The URL of Loki's tail WebSocket for `query`. */
export function tailUrl(query: string, startMs: number, limit: number): string {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/loki/api/v1/tail?${qs({ query, start: ns(startMs), limit })}`;
}

/** A query saved for the team. */
export interface SavedQuery {
  id: string;
  name: string;
  description: string;
  query: string;
  updated_at?: string;
}

const JSON_HEADERS = { "content-type": "application/json" };

/** The tenant's saved queries. */
export async function savedQueries(): Promise<SavedQuery[]> {
  return (await call<{ data: SavedQuery[] }>("/api/v1/saved_queries")).data;
}

/** Save a query; its id comes back. */
export async function saveQuery(q: Omit<SavedQuery, "id">): Promise<SavedQuery> {
  return (await call<{ data: SavedQuery }>("/api/v1/saved_queries", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(q) })).data;
}

/** Delete a saved query. */
export async function deleteSavedQuery(id: string): Promise<void> {
  await call<unknown>(`/api/v1/saved_queries/${encodeURIComponent(id)}`, { method: "DELETE" });
}

/** Whether this Basin needs a token, and whether this browser has one. */
export interface Session {
  auth_required: boolean;
  signed_in: boolean;
  scopes: string[];
  tenants: string[];
}

/** The browser's session. */
export async function session(): Promise<Session> {
  return call<Session>("/api/v1/session");
}

/** Exchange `token` for a session cookie. */
export async function signIn(token: string): Promise<void> {
  await call<unknown>("/api/v1/session", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({ token }) });
}

/** End the session. */
export async function signOut(): Promise<void> {
  await call<unknown>("/api/v1/session", { method: "DELETE" });
}

/** A dashboard as stored: its document is what the UI draws and exports. */
export interface Dashboard {
  id: string;
  title: string;
  document: unknown;
  updated_at?: string;
}

/** The tenant's dashboards. */
export async function dashboards(): Promise<Dashboard[]> {
  return (await call<{ data: Dashboard[] }>("/api/v1/dashboards")).data;
}

/** One dashboard. */
export async function dashboard(id: string): Promise<Dashboard> {
  return (await call<{ data: Dashboard }>(`/api/v1/dashboards/${encodeURIComponent(id)}`)).data;
}

/** Save (or import) a dashboard document. */
export async function createDashboard(document: unknown): Promise<Dashboard> {
  return (await call<{ data: Dashboard }>("/api/v1/dashboards", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(document) })).data;
}

/** Replace a dashboard's document. */
export async function updateDashboard(id: string, document: unknown): Promise<Dashboard> {
  return (await call<{ data: Dashboard }>(`/api/v1/dashboards/${encodeURIComponent(id)}`, { method: "PUT", headers: JSON_HEADERS, body: JSON.stringify(document) })).data;
}

/** Delete a dashboard. */
export async function deleteDashboard(id: string): Promise<void> {
  await call<unknown>(`/api/v1/dashboards/${encodeURIComponent(id)}`, { method: "DELETE" });
}
