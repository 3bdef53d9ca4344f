// Basin's UI in a real browser, against a real server the Rust test
// (tests/e2e/ui.rs) started and seeded:
//   {job="shop"}  60 JSON lines, levels info/warn/error 20 each, user_id 0..3 15 each,
//                 "order <i> placed", in the last 10 minutes
//   {job="bulk"}  100,000 lines, for the rendering and scrolling budget
//   an alert rule ShopErrors (namespace shop) firing on the shop's errors
// With AUTH_TOKEN set the server has auth on, and only sign-in is checked.
import { axe, BASE, check, launch, newPage, run, shot } from "./browser.mjs";

const q = (query, extra = "") => `${BASE}/?q=${encodeURIComponent(query)}&from=now-1h${extra}`;
const browser = await launch();
const report = {};

async function explore(page, query, extra) {
  await page.goto(q(query, extra));
  await page.waitForSelector(".entry, .empty, .error", { timeout: 15000 });
}

const open = [
  ["first load: the page and bundle, timed on loopback", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/`);
    await page.waitForSelector("#query");
    report.firstLoad = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const res = performance.getEntriesByType("resource").filter((r) => r.name.includes("/assets/"));
      return {
        domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
        loadMs: Math.round(nav.loadEventEnd),
        assetsBytes: res.reduce((a, r) => a + r.decodedBodySize, 0),
        assetsTransferred: res.reduce((a, r) => a + r.encodedBodySize, 0),
      };
    });
    console.log(`first load: ${JSON.stringify(report.firstLoad)}`);
    check(report.firstLoad.assetsBytes > 0, "assets loaded");
  }],
  ["explore: a log query shows its lines", async () => {
    const page = await newPage(browser);
    await explore(page, '{job="shop"}');
    const count = await page.textContent(".toolbar .count");
    check(count.startsWith("60 lines"), `count says ${count}`);
    const first = await page.textContent(".entry .line");
    check(/order \d+ placed/.test(first), `first line ${first}`);
    await shot(page, "explore");
    report.axeExplore = await axe(page, "explore");
    check(!page.errors.length, page.errors.join("\n"));
  }],
  ["explore: the histogram is coloured by level", async () => {
    const page = await newPage(browser);
    await explore(page, '{job="shop"}');
    await page.waitForSelector(".volume canvas");
    const legend = await page.$$eval(".level-legend li", (lis) =>
      lis.map((li) => [li.textContent.trim(), getComputedStyle(li.querySelector(".swatch")).backgroundColor]));
    const byLevel = Object.fromEntries(legend);
    check(byLevel.error === "rgb(220, 38, 38)", `error colour ${byLevel.error}`);
    check(byLevel.warn === "rgb(217, 119, 6)", `warn colour ${byLevel.warn}`);
    check(byLevel.info === "rgb(22, 163, 74)", `info colour ${byLevel.info}`);
    const rowLevels = await page.$$eval(".entry", (es) => [...new Set(es.map((e) => e.className.match(/level-(\w+)/)[1]))].sort());
    check(rowLevels.join() === "error,info,warn", `row levels ${rowLevels}`);
    // The bars themselves: count pixels of each level's colour on the canvas.
    const seen = await page.$eval(".volume canvas", (c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const want = { error: [220, 38, 38], warn: [217, 119, 6], info: [22, 163, 74] };
      const n = { error: 0, warn: 0, info: 0 };
      for (let i = 0; i < d.length; i += 4)
        for (const [k, [r, g, b]] of Object.entries(want)) if (d[i] === r && d[i + 1] === g && d[i + 2] === b) n[k]++;
      return n;
    });
    check(seen.error > 0 && seen.warn > 0 && seen.info > 0, `bar pixels ${JSON.stringify(seen)}`);
  }],
  ["explore: expand an entry and filter by one of its fields", async () => {
    const page = await newPage(browser);
    await explore(page, '{job="shop"}');
    await page.click(".entry-row");
    await page.waitForSelector(".details");
    const user = await page.textContent(".details tr:has(th:text-is('user_id ·')) td.value");
    await page.click(`button[aria-label="Filter for value user_id=${user}"]`);
    try {
      await page.waitForFunction((u) => new URL(location.href).searchParams.get("q")?.includes(`| user_id="${u}"`), user, { timeout: 10000 });
      await page.waitForFunction(() => /^15 lines/.test(document.querySelector(".toolbar .count")?.textContent ?? ""), null, { timeout: 10000 });
    } catch (e) {
      throw new Error(`after filtering user_id=${user}: url ${page.url()}, count ${await page.textContent(".toolbar .count").catch(() => "?")}: ${e.message}`);
    }
    const users = await page.$$eval(".entry .line", (ls) => [...new Set(ls.map((l) => JSON.parse(l.textContent).user_id))]);
    check(users.length === 1 && String(users[0]) === user, `users after filter: ${users}`);
    await page.click(".entry-row");
    await shot(page, "explore-expanded");
    report.axeExpanded = await axe(page, "explore, entry expanded");
  }],
  ["explore: a metric query is drawn, with legend and table", async () => {
    const page = await newPage(browser);
    await page.goto(q('sum by (detected_level) (count_over_time({job="shop"}[1h]))'));
    await page.waitForSelector(".chart canvas", { timeout: 15000 });
    const legend = await page.$$eval(".u-legend .u-series .u-label", (ls) => ls.map((l) => l.textContent));
    for (const lvl of ["error", "info", "warn"])
      check(legend.some((l) => l.includes(`detected_level="${lvl}"`)), `legend ${legend}`);
    await shot(page, "metric");
    report.axeMetric = await axe(page, "metric chart");
    await page.click("button:text-is('Table')");
    const rows = await page.$$eval(".series-table tbody tr", (trs) => trs.map((tr) => tr.cells[0].textContent + "=" + tr.cells[2].textContent));
    check(rows.length === 3 && rows.every((r) => r.endsWith("=20")), `table ${rows}`);
    await shot(page, "metric-table");
  }],
  ["explore: syntax errors are shown where they are", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/`);
    await page.fill("#query", '{job="shop"} |= ');
    await page.waitForSelector("#query-error", { timeout: 15000 });
    const text = await page.textContent("#query-error");
    check(text.includes("col 17") && /^ {16}\^/.test(text), `error shown: ${text}`);
  }],
  ["explore: with no query, one click on a service shows its logs", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/`);
    await page.click(".start-here button:text-is('shop')");
    await page.waitForFunction(() => /^60 lines/.test(document.querySelector(".toolbar .count")?.textContent ?? ""), null, { timeout: 15000 });
    check((await page.inputValue("#query")) === '{job="shop"}', "query from the click");
  }],
  ["keyboard: / focuses the editor, Ctrl+Enter runs the query", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/`);
    await page.waitForSelector("#query");
    await page.click("h1, main", { position: { x: 5, y: 5 } }).catch(() => undefined);
    await page.keyboard.press("/");
    check(await page.evaluate(() => document.activeElement?.id === "query"), "/ focused the editor");
    await page.keyboard.type('{job="shop"} |= "order 7 "');
    await page.keyboard.press("Control+Enter");
    await page.waitForFunction(() => /^1 line /.test(document.querySelector(".toolbar .count")?.textContent ?? ""), null, { timeout: 15000 });
    check(new URL(page.url()).searchParams.get("q") === '{job="shop"} |= "order 7 "', "the URL holds the query");
  }],
  ["explore: label names and values are completed", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/`);
    await page.click("#query");
    await page.keyboard.type("{jo");
    await page.waitForSelector(".completions li.active:text-is('job')");
    await page.keyboard.press("Enter");
    await page.keyboard.type('="sh');
    await page.waitForSelector(".completions li.active:text-is('shop')");
    await page.keyboard.press("Enter");
    const value = await page.inputValue("#query");
    check(value === '{job="shop', `editor holds ${value}`);
  }],
  ["saved queries: save a query and find it after a reload", async () => {
    const page = await newPage(browser);
    await explore(page, '{job="shop"} |= "placed"');
    await page.click("button:text-is('Save')");
    await page.fill(".save-query input", "Orders placed");
    await page.fill(".save-query textarea", "every order, for the shop team");
    await page.click(".save-query button[type=submit]");
    await page.waitForSelector("button:text-is('✓ Save')");
    await page.goto(`${BASE}/?view=saved`);
    await page.reload();
    await page.waitForSelector(".card h2:text-is('Orders placed')");
    await shot(page, "saved");
    report.axeSaved = await axe(page, "saved queries");
    await page.click(".card:has(h2:text-is('Orders placed')) button:text-is('Open')");
    await page.waitForSelector(".entry");
    check((await page.inputValue("#query")) === '{job="shop"} |= "placed"', "opened the saved query");
  }],
  ["live tail: a line pushed during the test shows within 2 s", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/?view=tail&q=${encodeURIComponent('{job="live"}')}`);
    await page.waitForSelector(".dot.on", { timeout: 10000 });
    const marker = `live line ${Date.now()}`;
    const pushed = Date.now();
    const res = await fetch(`${BASE}/loki/api/v1/push`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ streams: [{ stream: { job: "live" }, values: [[`${Date.now()}000000`, marker]] }] }),
    });
    check(res.status === 204, `push answered ${res.status}`);
    await page.waitForSelector(`.entry .line:text-is("${marker}")`, { timeout: 2000 });
    report.tailMs = Date.now() - pushed;
    await shot(page, "tail");
    report.axeTail = await axe(page, "live tail");
    await page.click("button:text-is('Pause')");
    await page.click("button:text-is('Clear')");
    check((await page.$$(".entry")).length === 0, "cleared");
  }],
  ["live tail: thousands of lines a second are sampled, the rest counted", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/?view=tail&q=${encodeURIComponent('{job="flood"}')}`);
    await page.waitForSelector(".dot.on", { timeout: 10000 });
    const t0 = Date.now();
    for (let batch = 0; batch < 10; batch++) {
      const values = [];
      for (let i = 0; i < 1000; i++) values.push([`${t0 + batch}${String(i).padStart(6, "0")}`, `flood ${batch} ${i}`]);
      await fetch(`${BASE}/loki/api/v1/push`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ streams: [{ stream: { job: "flood" }, values }] }) });
    }
    await page.waitForFunction(() => Number(document.getElementById("tail-received")?.textContent) >= 10000, null, { timeout: 10000 });
    await page.waitForTimeout(500);
    const skipped = Number(await page.textContent("#tail-skipped"));
    const shown = (await page.$$eval(".vlist [data-index]", (e) => e.length));
    const total = await page.evaluate(() => document.querySelector(".vlist > div")?.getBoundingClientRect().height);
    check(skipped > 0, `skipped ${skipped}`);
    report.tailFlood = { received: 10000, skipped, heightPx: total, rowsInDom: shown };
  }],
  ["patterns: a seeded pattern is listed and opens its lines", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/?view=patterns&q=${encodeURIComponent('{job="shop"}')}`);
    const row = await page.waitForSelector("tr:has(code:text-matches('order <_> placed'))", { timeout: 15000 });
    const count = await row.$eval("td", (td) => td.textContent);
    check(count === "60", `count ${count}`);
    check(await row.$("svg.sparkline polyline"), "sparkline");
    await shot(page, "patterns");
    report.axePatterns = await axe(page, "patterns");
    await row.$eval("button", (b) => b.click());
    await page.waitForFunction(() => /^60 lines/.test(document.querySelector(".toolbar .count")?.textContent ?? ""), null, { timeout: 15000 });
    check((await page.inputValue("#query")).includes("| pattern_id="), "query names the pattern");
  }],
  ["alerts: the firing rule shows its sample lines, history, and a rule is made from a query", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/?view=alerts&q=${encodeURIComponent('{job="shop"} |= "placed"')}`);
    const card = await page.waitForSelector(".card.alert-firing:has(h3:text-matches('ShopErrors'))", { timeout: 20000 });
    await page.waitForSelector(".card.alert-firing .sample-lines li", { timeout: 20000 });
    const sample = await card.$eval(".sample-lines li", (li) => li.textContent);
    check(/order \d+ placed/.test(sample) && sample.includes('"error"'), `sample ${sample}`);
    await page.waitForSelector(".history-table td:text-is('ShopErrors')");
    await shot(page, "alerts");
    report.axeAlerts = await axe(page, "alerts");
    check((await page.inputValue(".rule-form textarea")) === 'sum(count_over_time({job="shop"} |= "placed" [5m]))', "expr from the query");
    await page.fill(".rule-form input[pattern]", "ShopOrders");
    await page.fill(".rule-form input[type=number]", "5");
    await page.click(".rule-form button[type=submit]");
    await page.waitForSelector(".plain-table td:text-is('ShopOrders')", { timeout: 10000 });
  }],
  ["phone: alerts and live tail fit a 390 px screen", async () => {
    const page = await newPage(browser, { viewport: { width: 390, height: 800 } });
    await page.goto(`${BASE}/?view=alerts`);
    await page.waitForSelector(".card.alert-firing", { timeout: 20000 });
    let overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    check(overflow <= 0, `alerts wider than the screen by ${overflow}px`);
    await shot(page, "phone-alerts");
    await page.goto(`${BASE}/?view=tail&q=${encodeURIComponent('{job="live"}')}`);
    await page.waitForSelector(".dot.on", { timeout: 10000 });
    await fetch(`${BASE}/loki/api/v1/push`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ streams: [{ stream: { job: "live" }, values: [[`${Date.now()}000000`, "a line for the phone"]] }] }),
    });
    await page.waitForSelector('.entry .line:text-is("a line for the phone")', { timeout: 5000 });
    overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    check(overflow <= 0, `tail wider than the screen by ${overflow}px`);
    await shot(page, "phone-tail");
  }],
  ["dashboards: two panels and a variable survive a reload", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/?view=dashboards`);
    await page.click("button:text-is('New dashboard')");
    await page.waitForSelector("#dashboard-title");
    await page.fill("#dashboard-title", "Shop");
    await page.fill("#var-name", "job");
    await page.fill("#var-label", "job");
    await page.click("form[aria-label=Variables] button[type=submit]");
    await page.fill("#panel-title", "Lines per minute");
    await page.selectOption("#panel-type", "timeseries");
    await page.fill("#panel-query", 'sum(count_over_time({job="$job"}[1m]))');
    await page.click("form[aria-label='Add panel'] button[type=submit]");
    await page.fill("#panel-title", "Recent lines");
    await page.selectOption("#panel-type", "logs");
    await page.fill("#panel-query", '{job="$job"}');
    await page.click("form[aria-label='Add panel'] button[type=submit]");
    await page.click(".toolbar button:text-is('Save')");
    await page.waitForSelector(".toolbar button:text-is('Edit')");
    const url = new URL(page.url());
    url.searchParams.set("var-job", "shop");
    await page.goto(url.toString());
    await page.reload();
    await page.waitForSelector("h1:text-is('Shop')");
    await page.waitForSelector("article[aria-label='Lines per minute'] canvas", { timeout: 15000 });
    await page.waitForSelector("article[aria-label='Recent lines'] .entry", { timeout: 15000 });
    check((await page.$eval("select:near(:text('$job'))", (s) => s.value)) === "shop", "variable value");
    const line = await page.textContent("article[aria-label='Recent lines'] .entry .line");
    check(/order \d+ placed/.test(line), `logs panel: ${line}`);
    await shot(page, "dashboard");
    report.axeDashboard = await axe(page, "dashboard");
    // Export, then import the file under another title.
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("button:text-is('Export')")]);
    const exported = JSON.parse(await (await import("node:fs/promises")).readFile(await download.path(), "utf8"));
    check(exported.panels.length === 2 && exported.variables[0].name === "job", `export ${JSON.stringify(exported)}`);
    await page.goto(`${BASE}/?view=dashboards`);
    await page.waitForSelector(".card h2 a:text-is('Shop')");
    report.axeDashboards = await axe(page, "dashboard list");
    await page.setInputFiles("input[type=file]", {
      name: "shop-copy.json",
      mimeType: "application/json",
      buffer: Buffer.from(JSON.stringify({ ...exported, title: "Shop copy" })),
    });
    await page.waitForSelector(".card h2 a:text-is('Shop copy')");
  }],
  ["explore: a long query shows progress and can be cancelled", async () => {
    const page = await newPage(browser);
    // Hold the answer back, as a slow query would.
    await page.route("**/loki/api/v1/query_range", async (route) => {
      await new Promise((r) => setTimeout(r, 4000));
      await route.continue().catch(() => undefined);
    });
    await page.goto(q('{job="shop"}'));
    await page.waitForSelector(".loading button:text-is('Cancel')");
    await page.waitForTimeout(300);
    const shown = await page.textContent(".loading");
    check(/Running \d+\.\d s/.test(shown), `progress: ${shown}`);
    await page.click(".loading button:text-is('Cancel')");
    await page.waitForSelector(".loading", { state: "detached", timeout: 2000 });
    check(!(await page.$(".error")), "a cancel is not an error");
  }],
  ["language: switch to Korean and back (under the real CSP)", async () => {
    const page = await newPage(browser, { bypassCSP: false });
    await page.goto(`${BASE}/`);
    await page.selectOption("#lang", "ko");
    await page.waitForSelector("nav a:text-is('탐색')");
    check((await page.getAttribute("html", "lang")) === "ko", "html lang");
    await page.reload();
    await page.waitForSelector("nav a:text-is('탐색')");
    await shot(page, "korean");
    await page.selectOption("#lang", "en");
    await page.waitForSelector("nav a:text-is('Explore')");
    await explore(page, '{job="shop"}');
    check(!page.errors.length, `errors under the CSP: ${page.errors.join("\n")}`);
  }],
  ["theme: dark theme passes axe too", async () => {
    const page = await newPage(browser, { colorScheme: "dark" });
    await explore(page, '{job="shop"}');
    check((await page.getAttribute("html", "data-theme")) === "dark", "dark theme from the system");
    await shot(page, "explore-dark");
    report.axeDark = await axe(page, "explore, dark");
  }],
  ["phone: explore fits a 390 px screen", async () => {
    const page = await newPage(browser, { viewport: { width: 390, height: 800 } });
    await explore(page, '{job="shop"}');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
    check(overflow <= 0, `page wider than the screen by ${overflow}px`);
    await shot(page, "phone-explore");
  }],
  ["performance: 100,000 lines render and scroll without long tasks over 200 ms", async () => {
    const page = await newPage(browser);
    await page.addInitScript(() => {
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push(Math.round(e.duration));
      }).observe({ type: "longtask", buffered: true });
    });
    const started = Date.now();
    await page.goto(q('{job="bulk"}', "&limit=100000"));
    await page.waitForFunction(() => /^100,000 lines/.test(document.querySelector(".toolbar .count")?.textContent ?? ""), null, { timeout: 60000 });
    const shown = Date.now() - started;
    const list = await page.$(".vlist");
    const box = await list.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const scrollStart = Date.now();
    for (let i = 0; i < 60; i++) {
      await page.mouse.wheel(0, 4000);
      await page.waitForTimeout(16);
    }
    // Rows are measured as they are shown, so the bottom moves while we
    // approach it: jump there until it stays put.
    for (let i = 0; i < 10; i++) {
      await page.$eval(".vlist", (el) => (el.scrollTop = el.scrollHeight));
      await page.waitForTimeout(100);
    }
    const scrolled = Date.now() - scrollStart;
    const last = await page.$$eval(".entry .line", (ls) => ls[ls.length - 1].textContent);
    const tasks = await page.evaluate(() => window.__longTasks);
    report.perf = { shownMs: shown, scrollMs: scrolled, longTasksMs: tasks, rowsInDom: await page.$$eval(".entry", (e) => e.length) };
    console.log(`perf: ${JSON.stringify(report.perf)}`);
    check(/bulk line 0\b/.test(last), `the oldest line is reachable: ${last}`);
    check(Math.max(0, ...tasks) <= 200, `long tasks ${tasks}`);
    await shot(page, "bulk-scrolled");
  }],
];

const auth = [
  ["sign-in: a token is asked for, checked, and kept in an HttpOnly cookie", async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/?q=${encodeURIComponent('{job="shop"}')}`);
    await page.waitForSelector("form.signin");
    await shot(page, "signin");
    report.axeSignIn = await axe(page, "sign-in");
    await page.fill("#token", "basin_0000_wrong");
    await page.click("form.signin button[type=submit]");
    await page.waitForSelector("form.signin .error");
    await page.fill("#token", process.env.AUTH_TOKEN);
    await page.click("form.signin button[type=submit]");
    await page.waitForSelector(".entry", { timeout: 15000 });
    check(!(await page.evaluate(() => document.cookie)).includes("basin_session"), "cookie visible to scripts");
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "basin_session");
    check(session?.httpOnly && session.sameSite === "Strict", `cookie ${JSON.stringify(session)}`);
    await page.reload();
    await page.waitForSelector(".entry", { timeout: 15000 });
    await page.click("button:text-is('Sign out')");
    await page.waitForSelector("form.signin");
  }],
];

await run(process.env.AUTH_TOKEN ? auth : open);
console.log(`report: ${JSON.stringify(report)}`);
await browser.close();
