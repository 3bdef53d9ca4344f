// English and Korean, chosen from the browser's language and switchable.
import { useEffect, useState } from "preact/hooks";

const en = {
  explore: "Explore", tail: "Live tail", patterns: "Patterns", alerts: "Alerts",
  saved: "Saved queries", dashboards: "Dashboards", signIn: "Sign in", signOut: "Sign out",
  run: "Run query", cancel: "Cancel", running: "Running", query: "Query", from: "From", to: "To",
  utc: "UTC", local: "Local time", wrap: "Wrap lines", lines: "lines", line: "line", noResults: "No results in this range.",
  download: "Download", fields: "Fields", labels: "Labels", pattern: "Pattern", traceId: "Trace id",
  filterFor: "Filter for value", filterOut: "Filter out value", table: "Table", chart: "Chart",
  pause: "Pause", resume: "Resume", clear: "Clear", skipped: "skipped", perSecond: "lines/s",
  connected: "Connected", disconnected: "Disconnected", count: "Count", firstSeen: "First seen",
  newSince: "New since", showLines: "Show lines", exclude: "Exclude", level: "Level",
  state: "State", rule: "Rule", firing: "Firing", pending: "Pending", inactive: "Inactive",
  createRule: "Create alert rule from query", name: "Name", description: "Description", save: "Save",
  delete: "Delete", open: "Open", addPanel: "Add panel", title: "Title", panelType: "Panel type",
  variables: "Variables", refresh: "Auto-refresh", off: "Off", export: "Export", import: "Import",
  token: "API token", signInHelp: "This Basin requires a token. Paste a token with the read scope.",
  language: "Language", theme: "Theme", dark: "Dark", light: "Light", loading: "Loading…",
  newDashboard: "New dashboard", value: "Value", time: "Time", series: "Series", total: "Total",
  timeRange: "Time range", lastN: "Last", custom: "Custom", apply: "Apply", search: "Search",
  namespace: "Namespace", group: "Group", threshold: "Fires when the value is above", forDur: "For",
  expression: "Expression", samples: "Sample lines", noAlerts: "No alerts are firing.",
  nothingSaved: "Nothing saved yet.", edit: "Edit", volume: "Log volume", skipLink: "Skip to content",
  history: "History", done: "Done", remove: "Remove", variableLabel: "Label", noPanels: "No panels yet: add one.",
  stat: "Single stat", bars: "Bars", timeseries: "Time series", logs: "Logs",
};
export type Key = keyof typeof en;

const ko: Record<Key, string> = {
  explore: "탐색", tail: "실시간 로그", patterns: "패턴", alerts: "알림",
  saved: "저장된 쿼리", dashboards: "대시보드", signIn: "로그인", signOut: "로그아웃",
  run: "쿼리 실행", cancel: "취소", running: "실행 중", query: "쿼리", from: "시작", to: "끝",
  utc: "UTC", local: "현지 시간", wrap: "줄 바꿈", lines: "줄", line: "줄", noResults: "이 범위에 결과가 없습니다.",
  download: "내려받기", fields: "필드", labels: "레이블", pattern: "패턴", traceId: "트레이스 ID",
  filterFor: "이 값으로 필터", filterOut: "이 값 제외", table: "표", chart: "차트",
  pause: "일시정지", resume: "재개", clear: "지우기", skipped: "건너뜀", perSecond: "줄/초",
  connected: "연결됨", disconnected: "연결 끊김", count: "개수", firstSeen: "처음 본 시각",
  newSince: "이후 새로 나타남", showLines: "로그 보기", exclude: "제외", level: "레벨",
  state: "상태", rule: "규칙", firing: "발생 중", pending: "대기", inactive: "비활성",
  createRule: "이 쿼리로 알림 규칙 만들기", name: "이름", description: "설명", save: "저장",
  delete: "삭제", open: "열기", addPanel: "패널 추가", title: "제목", panelType: "패널 종류",
  variables: "변수", refresh: "자동 새로고침", off: "끔", export: "내보내기", import: "가져오기",
  token: "API 토큰", signInHelp: "이 Basin은 토큰이 필요합니다. read 권한이 있는 토큰을 붙여 넣으세요.",
  language: "언어", theme: "테마", dark: "어둡게", light: "밝게", loading: "불러오는 중…",
  newDashboard: "새 대시보드", value: "값", time: "시각", series: "시리즈", total: "합계",
  timeRange: "시간 범위", lastN: "최근", custom: "직접 입력", apply: "적용", search: "검색",
  namespace: "네임스페이스", group: "그룹", threshold: "값이 이보다 크면 발생", forDur: "지속 시간",
  expression: "표현식", samples: "예시 로그", noAlerts: "발생 중인 알림이 없습니다.",
  nothingSaved: "저장된 항목이 없습니다.", edit: "편집", volume: "로그 양", skipLink: "본문으로 건너뛰기",
  history: "기록", done: "완료", remove: "제거", variableLabel: "레이블", noPanels: "패널이 없습니다. 패널을 추가하세요.",
  stat: "단일 값", bars: "막대", timeseries: "시계열", logs: "로그",
};

export type Lang = "en" | "ko";
const DICTS: Record<Lang, Record<Key, string>> = { en, ko };

function initialLang(): Lang {
  const saved = localStorage.getItem("basin.lang");
  if (saved === "en" || saved === "ko") return saved;
  return navigator.language.toLowerCase().startsWith("ko") ? "ko" : "en";
}

let current: Lang = initialLang();
const listeners = new Set<() => void>();

/** The text of `key` in the current language. */
export function t(key: Key): string {
  return DICTS[current][key];
}

/** `n` and the word for lines, singular or plural as the language wants. */
export function lineCount(n: number): string {
  return `${n.toLocaleString()} ${t(n === 1 ? "line" : "lines")}`;
}

/** The current language. */
export function lang(): Lang {
  return current;
}

/** Switch language, remembered in this browser. */
export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem("basin.lang", next);
  document.documentElement.lang = next;
  listeners.forEach((l) => l());
}

/** Re-render the caller when the language changes. */
export function useLang(): Lang {
  const [, bump] = useState(0);
  useEffect(() => {
    const l = () => bump((n) => n + 1);
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return current;
}
