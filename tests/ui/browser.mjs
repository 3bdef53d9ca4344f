// Shared helpers of the browser tests: Debian's chromium through
// playwright-core (no browser download), axe-core, screenshots, and a tiny
// runner that reports each check by name.
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");

export const BASE = process.env.BASIN_URL ?? "http://127.0.0.1:3100";
export const SHOTS = process.env.SCREENSHOT_DIR ?? "screenshots";
mkdirSync(SHOTS, { recursive: true });

/** Chromium as this machine has it; flags keep it off the (closed) network. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/**
 * A new page that records script errors. axe is injected as a script, which
 * the UI's Content Security Policy forbids, so pages bypass the CSP unless
 * `opts.bypassCSP` is false (one check runs under the real policy).
 */
export async function newPage(browser, opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US", bypassCSP: true, ...opts });
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of (4\d\d)/.test(m.text())) page.errors.push(m.text());
  });
  return page;
}

/** Writes a screenshot of the page under SCREENSHOT_DIR. */
export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Runs axe-core on the page; throws on serious or critical violations. */
export async function axe(page, view) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) throw new Error(`axe on ${view}: ${JSON.stringify(bad, null, 1)}`);
  return result.length;
}

/** Throws unless `cond`. */
export function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs named checks in order; exits non-zero if any failed. */
export async function run(checks) {
  let failed = 0;
  for (const [name, fn] of checks) {
    const started = Date.now();
    try {
      await fn();
      console.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e.stack ?? e}`);
    }
  }
  console.log(failed ? `${failed} of ${checks.length} failed` : `all ${checks.length} passed`);
  process.exitCode = failed ? 1 : 0;
}
