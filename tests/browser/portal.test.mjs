// Real-browser tests of the portal (issue 11): Debian's chromium, driven by playwright-core,
// against a real `creditlog demo` on loopback. The oracles are independent of the page: the
// `creditlog` CLI's own verification of the same history (Rust), the demo's printed figures, and
// the fixtures the test writes. A proxy that alters or drops one entry stands for a dishonest
// server. Screenshots of every page under test go to tests/browser/artifacts/.
//
//   CREDITLOG_BIN=target/debug/creditlog node --test tests/browser/portal.test.mjs

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const bin = process.env.CREDITLOG_BIN || path.join(root, "target/debug/creditlog");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = path.join(here, "artifacts");
fs.mkdirSync(artifacts, { recursive: true });

let demo; // { proc, url, data, logKey, firm, stdout, stderr }
let browser;
const proxies = [];
const outside = []; // every request the pages made to another origin
const refused = []; // every Content-Security-Policy violation the browser reported

function startDemo() {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "creditlog-portal-"));
  const proc = spawn(bin, ["demo", "--data", data, "--firms", "300", "--records", "3000", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start in 300 s:\n${stderr}`)), 300_000);
    proc.stdout.on("data", (d) => {
      stdout += d;
      const url = /listening on (http:\/\/\S+)/.exec(stdout);
      const firm = /--uscc (\S+) --key \S+example-firm\.key/.exec(stdout);
      if (url && firm && /class distribution[^\n]*\n(  [^\n]*\n){4}/.test(stdout)) {
        clearTimeout(timer);
        resolve({ proc, url: url[1], data, logKey: /verifier key: (\S+)/.exec(stdout)[1], firm: firm[1], stdout: () => stdout, stderr: () => stderr });
      }
    });
    proc.on("exit", (code) => reject(new Error(`demo exited ${code}:\n${stderr}`)));
  });
}

// A proxy in front of the server that rewrites the firm's history answers with `tamper`, like a
// server operator who alters or hides an entry. Everything else passes through unchanged.
function startProxy(tamper, what = /\/v1\/enterprises\/[^/]+\/history/) {
  const target = new URL(demo.url);
  const server = http.createServer((req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      const chunks = [];
      r.on("data", (c) => chunks.push(c));
      r.on("end", () => {
        let body = Buffer.concat(chunks);
        if (what.test(req.url) && r.statusCode === 200) {
          const doc = JSON.parse(body);
          tamper(doc);
          body = Buffer.from(JSON.stringify(doc));
        }
        const headers = { ...r.headers, "content-length": body.length };
        res.writeHead(r.statusCode, headers);
        res.end(body);
      });
    });
    req.pipe(up);
  });
  proxies.push(server);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

async function newPage(base) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "zh-CN", acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.text().includes("Content Security Policy")) refused.push(m.text());
  });
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(base) && !u.startsWith("blob:") && !u.startsWith("data:")) outside.push(u);
  });
  page.errors = errors;
  page.base = base;
  return page;
}

async function open(page, hash) {
  const url = `${page.base}/${hash}`;
  // Going to the URL the page is already on changes nothing: ask the page to route again.
  if (page.url() === url) {
    await page.evaluate(() => {
      document.body.dataset.ready = "";
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    });
  } else await page.goto(url);
  await ready(page, hash);
}

const ready = (page, hash) => page.waitForFunction((h) => document.body.dataset.ready === h, hash, { timeout: 120_000 });

async function signIn(page, keyFile, uscc) {
  await open(page, "#/signin");
  await page.setInputFiles("[data-testid=key-file]", keyFile);
  if (uscc) await page.fill("[data-testid=uscc]", uscc);
  await page.click("[data-testid=sign-in]");
  await page.waitForSelector("[data-testid=who]", { timeout: 60_000 });
  await page.waitForFunction(() => document.body.dataset.ready !== "#/signin");
}

const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const keys = () => ({ firm: path.join(demo.data, "keys/example-firm.key"), amr: path.join(demo.data, "sim/keys/zibo-amr.key"), auditor: path.join(demo.data, "keys/auditor.key"), authority: path.join(demo.data, "keys/grading-authority.key") });

// The CLI's own reading of the firm's history (an independent implementation, in Rust): the
// entries it verified, as "index kind".
function cliHistory() {
  const out = execFileSync(bin, ["history", "--uscc", demo.firm, "--key", keys().firm, "--server", demo.url, "--log-key", demo.logKey], { encoding: "utf8" });
  assert.match(out, /ok: every check passed/);
  return [...out.matchAll(/^entry (\d+): ([^\s:]+)/gm)].map((m) => `${m[1]} ${m[2]}`);
}

async function pageHistory(page) {
  await page.click("[data-tab=history]");
  await ready(page, "#/enterprise/history");
  await page.waitForSelector("[data-testid=history-summary]");
  return page.$$eval("li.entry", (els) => els.map((e) => ({ index: e.dataset.entry, status: e.dataset.status, text: e.textContent })));
}

before(async () => {
  demo = await startDemo();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  for (const p of proxies) p.close();
  demo?.proc.kill("SIGTERM");
  assert.deepEqual(outside, [], "a page loaded something from outside the server");
  assert.deepEqual(refused, [], "the page broke its own Content-Security-Policy");
});

test("a firm signs in with its key file and sees its grade, breakdown chart and history, every entry verified in the page", async () => {
  const page = await newPage(demo.url);
  await signIn(page, keys().firm, demo.firm);
  await ready(page, "#/enterprise/grades");
  await page.waitForSelector("[data-testid=breakdown-chart][data-rendered=true] svg");
  const cls = await page.textContent("[data-testid=class]");
  // Oracle: the CLI's grades command, reading the same decision.
  const cli = execFileSync(bin, ["grades", "--uscc", demo.firm, "--key", keys().firm, "--server", demo.url], { encoding: "utf8" });
  assert.match(cli, new RegExp(`\\b${cls}\\b`), `the CLI does not show class ${cls}:\n${cli}`);
  const bars = await page.$$eval("[data-testid=breakdown-chart] svg path", (p) => p.length);
  assert.ok(bars > 3, "the breakdown chart has no bars");
  const rows = await page.$$eval("[data-testid=breakdown-table] tr.point", (r) => r.length);
  assert.ok(rows > 0, "no observation point in the breakdown table");
  await shot(page, "01-firm-grades");

  const entries = await pageHistory(page);
  await shot(page, "02-firm-history");
  const cliEntries = cliHistory();
  const shown = entries.map((e) => e.index);
  assert.deepEqual(shown, cliEntries.map((e) => e.split(" ")[0]), "the page shows other entries than the CLI verified");
  for (const e of entries) assert.ok(e.status === "ok" || e.status === "withheld", `entry ${e.index} is not verified: ${e.text}`);
  assert.ok(entries.filter((e) => e.status === "ok").length >= entries.length - 2);
  assert.match(await page.textContent("[data-testid=history-summary]"), new RegExp(`全部 ${entries.length} 条已在本页核验`));
  assert.deepEqual(page.errors, []);
});

test("served through a proxy that alters one entry's content, the page shows the failure and names the entry", async () => {
  let altered;
  const base = await startProxy((doc) => {
    const e = doc.entries.find((x) => x.content && x.content.envelope && JSON.parse(Buffer.from(x.content.envelope.payload, "base64")).type === "creditlog.record/v1");
    const payload = JSON.parse(Buffer.from(e.content.envelope.payload, "base64"));
    payload.date = "2020-01-01"; // an operator backdating a record
    e.content.envelope.payload = Buffer.from(JSON.stringify(payload)).toString("base64");
    altered = e.index;
  });
  const page = await newPage(base);
  await signIn(page, keys().firm, demo.firm);
  const entries = await pageHistory(page);
  await shot(page, "03-tampered-content");
  const bad = entries.filter((e) => e.status === "fail");
  assert.deepEqual(bad.map((e) => e.index), [String(altered)]);
  assert.match(bad[0].text, new RegExp(`第 ${altered} 条内容在写入日志后被改动`));
  assert.match(await page.textContent("[data-testid=history-summary]"), new RegExp(`有 1 条未通过核验.*第 ${altered} 条`));
});

test("served through a proxy that drops one entry, the page shows the gap and names the entries around it", async () => {
  let dropped;
  let next;
  const base = await startProxy((doc) => {
    const i = Math.floor(doc.entries.length / 2);
    dropped = doc.entries[i].index;
    next = doc.entries[i + 1].index;
    doc.entries.splice(i, 1);
  });
  const page = await newPage(base);
  await signIn(page, keys().firm, demo.firm);
  const entries = await pageHistory(page);
  await shot(page, "04-dropped-entry");
  assert.ok(!entries.some((e) => e.index === String(dropped)));
  const bad = entries.filter((e) => e.status === "fail");
  assert.deepEqual(bad.map((e) => e.index), [String(next)]);
  assert.match(bad[0].text, new RegExp(`第 ${next} 条之前有未显示的条目.*第 \\d+ 条与第 ${next} 条之间有条目被隐去`));
});

test("a department imports a CSV with one bad row and sees its line and column; the good rows are checked and submitted", async () => {
  // The market regulator's own 双公示 export of licences, as the simulator wrote it (GB18030),
  // with one date made impossible: bytes, so that the file stays GB18030.
  const src = fs.readFileSync(path.join(demo.data, "sim/exports/zibo-amr__administrative_licence.gb18030.csv")).toString("latin1");
  const lines = src.split("\n").slice(0, 6);
  const badLine = 4; // header is line 1
  // A date as the export writes it: 2026-01-02, 2026/1/2 or 2026年1月2日 (年月日 in GB18030 bytes).
  const date = /\d{4}(-|\/|\xC4\xEA)\d{1,2}(-|\/|\xD4\xC2)\d{1,2}(\xC8\xD5)?/;
  assert.match(lines[badLine - 1], date);
  lines[badLine - 1] = lines[badLine - 1].replace(date, "2026-02-30");
  // And one new licence: line 2's document number (〔2024〕N号, 〔〕 in GB18030 bytes) made unique.
  const docNo = /(\xA1\xB2\d{4}\xA1\xB3)\d+/;
  assert.match(lines[1], docNo);
  lines[1] = lines[1].replace(docNo, "$19999");
  const newFirm = lines[1].split(",")[2];
  const file = path.join(demo.data, "licences-with-a-bad-row.csv");
  fs.writeFileSync(file, Buffer.from(lines.join("\n") + "\n", "latin1"));

  const page = await newPage(demo.url);
  await signIn(page, keys().amr);
  await ready(page, "#/department/import");
  await page.selectOption("[data-testid=import-kind]", "administrative_licence");
  await page.setInputFiles("[data-testid=import-file]", file);
  await page.click("[data-testid=import-read]");
  await page.waitForSelector("[data-testid=import-rows]");
  const bad = await page.$$eval("[data-testid=import-rows] tr.bad", (r) => r.map((x) => ({ line: x.dataset.line, text: x.textContent })));
  assert.equal(bad.length, 1, JSON.stringify(bad));
  assert.equal(bad[0].line, String(badLine));
  assert.match(bad[0].text, /import-cell/);
  assert.match(bad[0].text, /2026-02-30/);
  // The column is named by the file's own header (the standard's Chinese name).
  const column = await page.textContent(`[data-testid=import-rows] tr[data-line="${badLine}"] td.col`);
  assert.match(column, /日期|期/);
  assert.match(await page.textContent("[data-testid=read-summary]"), /5 行，1 行有误/);
  await page.click("[data-testid=import-check]");
  await page.waitForSelector("[data-testid=check-summary]");
  // Lines 3 and 5 were loaded by the demo already (duplicates); line 2 is new.
  assert.match(await page.textContent("[data-testid=check-summary]"), /核对：1 条可写入，0 条被拒绝/);
  await page.click("[data-testid=import-submit]");
  await page.waitForSelector("[data-testid=submit-summary]");
  assert.match(await page.textContent("[data-testid=submit-summary]"), /提交：写入 1 条，拒绝 0 条/);
  const fate = await page.textContent('[data-testid=import-rows] tr[data-line="2"] td.fate');
  const index = /已写入 #(\d+)/.exec(fate)[1];
  await shot(page, "05-department-import");
  // Oracle: the CLI, as an auditor, reads the firm's history and verifies the new entry.
  const out = execFileSync(bin, ["history", "--uscc", newFirm, "--key", keys().auditor, "--server", demo.url, "--log-key", demo.logKey], { encoding: "utf8" });
  assert.match(out, new RegExp(`^entry ${index}: record/administrative_licence by zibo-amr \\(\\S*〔2024〕9999号\\)`, "m"));
  assert.deepEqual(page.errors, []);
});

test("an objection filed in the firm's page reaches the department's page, which answers it there", async () => {
  const firm = await newPage(demo.url);
  await signIn(firm, keys().firm, demo.firm);
  // A record of the market regulator's about the firm, from the CLI's reading of its history.
  const target = cliHistory().find((e) => e.endsWith("record/inspection_result")).split(" ")[0];
  await firm.click("[data-tab=objections]");
  await ready(firm, "#/enterprise/objections");
  await firm.fill("[data-testid=objection-target]", target);
  await firm.fill("[data-testid=objection-statement]", "浏览器测试：该抽查结果与现场情况不符");
  await firm.click("[data-testid=objection-form] button[type=submit]");
  const logged = await firm.waitForSelector("[data-testid=appended]", { timeout: 60_000 });
  const index = /(\d+)/.exec(await logged.textContent())[1];
  await shot(firm, "06-firm-objection");

  const dept = await newPage(demo.url);
  await signIn(dept, keys().amr);
  await dept.click("[data-tab=objections]");
  await ready(dept, "#/department/objections");
  const row = await dept.waitForSelector(`[data-testid=objections] tr[data-index="${index}"]`);
  const text = await row.textContent();
  assert.match(text, /浏览器测试：该抽查结果与现场情况不符/);
  assert.match(text, new RegExp(`#${target}`));
  assert.match(text, /待受理/);
  await shot(dept, "07-department-objections");

  // The department accepts it, then rejects it with a reason, each step signed in its page.
  const rowSel = `[data-testid=objections] tr[data-index="${index}"]`;
  await dept.click(`${rowSel} [data-testid=accept]`);
  await dept.waitForSelector(`${rowSel} [data-testid=answered]`);
  await open(dept, "#/department/objections");
  await dept.waitForSelector(`${rowSel} [data-testid=reject]`);
  assert.match(await dept.textContent(rowSel), /核查中/);
  await dept.fill(`${rowSel} [data-testid=answer-reason]`, "经现场复核，原抽查结果无误");
  await dept.click(`${rowSel} [data-testid=reject]`);
  await dept.waitForSelector(`${rowSel} [data-testid=answered]`);

  // Oracle: the CLI lists the firm's objections with this one rejected, giving the reason.
  const out = execFileSync(bin, ["objection", "list", "--uscc", demo.firm, "--key", keys().firm, "--server", demo.url], { encoding: "utf8" });
  const line = out.split("\n").find((l) => l.includes(`${index}`) && l.includes("rejected"));
  assert.ok(line, `the CLI does not list objection ${index} as rejected:\n${out}`);
  await open(firm, "#/enterprise/objections");
  const firmRow = await firm.textContent(`[data-testid=objections] tr[data-index="${index}"]`);
  assert.match(firmRow, /异议不成立/);
});

test("the public search never shows a class, a score or a private record", async () => {
  const page = await newPage(demo.url);
  await open(page, "#/");
  await page.fill("[data-testid=search-input]", demo.firm.slice(0, 10));
  await page.click("[data-testid=search-button]");
  await page.waitForSelector("[data-testid=firm-link]");
  await shot(page, "08-public-search");
  await page.click("[data-testid=firm-link]");
  await ready(page, `#/firm/${demo.firm}`);
  await page.waitForSelector("[data-testid=disclosure]");
  await shot(page, "09-public-firm");
  const text = await page.textContent("main");
  // Oracle: the firm's own history, as the CLI verified it, holds private entries (a grade
  // decision, tax grades, judgments, objections); none of their kinds appears in public.
  const kinds = cliHistory().map((e) => e.split(" ")[1]);
  assert.ok(kinds.includes("decision/grade"));
  for (const word of ["分类结果", "得分", "信用风险低", "信用风险一般", "信用风险较高", "信用风险高", "纳税信用等级", "司法判决", "异议"]) {
    assert.ok(!text.includes(word), `the public page shows "${word}"`);
  }
  const statuses = await page.$$eval("[data-testid=disclosure] tr[data-entry] .verdict", (v) => v.map((x) => x.dataset.status));
  assert.ok(statuses.length > 0 && statuses.every((s) => s === "ok" || s === "partial"), statuses.join(","));
  assert.ok(statuses.includes("ok"));
  // A verified public record passed every check a public opening allows (not the chain, whose
  // salt stays private).
  const checks = await page.$$eval("[data-testid=disclosure] .verdict[data-status=ok]", (v) => v.map((x) => x.dataset.checks));
  for (const c of checks) assert.equal(c, "inclusion commitment subject author signature");
});

test("a public page served through a proxy that changes a public record shows that record failing", async () => {
  let changed;
  const base = await startProxy(
    (doc) => {
      const r = doc.records.find((x) => x.opening);
      const payload = JSON.parse(Buffer.from(r.opening.envelope.payload, "base64"));
      payload.reference = "伪造文号"; // and the server's copy of the fields to match
      r.opening.envelope.payload = Buffer.from(JSON.stringify(payload)).toString("base64");
      r.reference = payload.reference;
      changed = r.index;
    },
    /\/v1\/enterprises\/[^/]+\/disclosure/,
  );
  const page = await newPage(base);
  await open(page, `#/firm/${demo.firm}`);
  await page.waitForSelector("[data-testid=disclosure]");
  const rows = await page.$$eval("[data-testid=disclosure] tr[data-entry]", (t) => t.map((x) => ({ index: x.dataset.entry, status: x.querySelector(".verdict").dataset.status, text: x.textContent })));
  const bad = rows.filter((r) => r.status === "fail");
  assert.deepEqual(bad.map((r) => r.index), [String(changed)]);
  assert.match(bad[0].text, new RegExp(`第 ${changed} 条内容在写入日志后被改动`));
  await shot(page, "09b-public-firm-tampered");
});

test("the dashboard's charts render with the demo's numbers", async () => {
  const page = await newPage(demo.url);
  await signIn(page, keys().auditor);
  // An auditor lands on the audit look-up, and the dashboard is in the menu.
  await ready(page, "#/auditor");
  await page.click("header a[href='#/dashboard']");
  await ready(page, "#/dashboard");
  await page.waitForSelector("[data-testid=class-chart][data-rendered=true] svg");
  await page.waitForSelector("[data-testid=supervision-chart][data-rendered=true] svg");
  await shot(page, "10-dashboard");
  // Oracle: the class distribution the demo printed when it started.
  const printed = [...demo.stdout().matchAll(/^ {2}([A-D]) \S+: (\d+) \(/gm)].map((m) => [m[1], Number(m[2])]);
  assert.equal(printed.length, 4);
  const labels = await page.$$eval("[data-testid=class-chart] svg text", (t) => t.map((x) => x.textContent));
  for (const [, n] of printed) assert.ok(labels.includes(String(n)), `the chart has no bar labelled ${n}: ${labels.join(" ")}`);
  const counts = await page.textContent("[data-testid=class-counts]");
  for (const [c, n] of printed) assert.match(counts, new RegExp(`${c} \\S+ ${n}`));

  // The change over time: one row per month the demo re-graded in (its printed as-of days), and
  // the last row is the distribution it printed.
  await page.waitForSelector("[data-testid=class-history-chart][data-rendered=true] svg");
  const asOf = /under the general model as of ([\d, -]+) \(/.exec(demo.stderr())[1].split(", ");
  const months = [...new Set(asOf.map((d) => d.slice(0, 7)))];
  const rows = await page.$$eval("[data-testid=class-history] tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => r[0]), months);
  assert.deepEqual(rows.at(-1).slice(1).map(Number), printed.map(([, n]) => n));
  await shot(page, "10b-dashboard-history");
});

test("a department's plans page replays each draw in the page, as creditlog verify-draw does; an altered population fails there", async () => {
  const plansOf = async (url) => {
    const page = await newPage(url);
    await signIn(page, keys().amr);
    await page.click("[data-tab=plans]");
    await ready(page, "#/department/plans");
    const plans = await page.$$eval("[data-testid^=draw-replay-]", (els) => els.map((e) => e.dataset.testid.slice("draw-replay-".length)));
    assert.ok(plans.length >= 1, "the demo's market regulator has drawn plans");
    const out = {};
    for (const plan of plans) {
      const cell = await page.waitForSelector(`[data-testid=draw-replay-${plan}][data-ok]`, { timeout: 120_000 });
      out[plan] = { ok: await cell.getAttribute("data-ok"), text: await cell.textContent(), why: await cell.getAttribute("title") };
    }
    return { page, out };
  };
  const { page, out } = await plansOf(demo.url);
  for (const [plan, r] of Object.entries(out)) {
    assert.equal(r.ok, "true", `${plan}: ${r.text}\n${r.why}`);
    // Oracle: the CLI (Rust) re-runs the same draw; the page drew as many firms.
    const cli = execFileSync(bin, ["verify-draw", "--server", demo.url, "--plan", plan, "--key", keys().amr, "--log-key", demo.logKey], { encoding: "utf8" });
    const drawn = [...cli.matchAll(/^ {2}\S+ \(class \S+\): inspectors /gm)].length;
    assert.match(r.text, new RegExp(`^✓ 重放一致（${drawn} 家）$`));
  }
  await shot(page, "17-department-plans");

  // An operator who swaps one firm's class in the population shown (to hide why it was drawn).
  const base = await startProxy((doc) => {
    const m = doc.population.find((x) => x.class === "C");
    m.class = "A";
  }, /\/v1\/plans\/\d+\/bundle/);
  const tampered = await plansOf(base);
  for (const [plan, r] of Object.entries(tampered.out)) {
    assert.equal(r.ok, "false", `${plan}: ${r.text}`);
    assert.match(r.text, /^✗ 显示的 \d+ 家企业名单不是抽取时签名的名单/);
  }
  await shot(tampered.page, "18-department-plans-tampered");
});

test("an auditor drops an evidence bundle on the page: the real one passes, an altered one fails naming the entry", async () => {
  const bundle = path.join(demo.data, "firm.bundle.json");
  execFileSync(bin, ["export", "--uscc", demo.firm, "--key", keys().auditor, "--server", demo.url, "--out", bundle]);
  execFileSync(bin, ["verify", bundle, "--log-key", demo.logKey]); // the CLI's verdict: it passes
  const page = await newPage(demo.url);
  await open(page, "#/verify");
  await page.setInputFiles("[data-testid=bundle-file]", bundle);
  await page.waitForSelector("[data-testid=bundle-verdict]");
  assert.match(await page.textContent("[data-testid=bundle-verdict]"), /^✓/);
  assert.match(await page.textContent("[data-testid=bundle-completeness]"), /^本证据包带有完整性证明/);
  await shot(page, "11-verify-bundle");

  const b = JSON.parse(fs.readFileSync(bundle, "utf8"));
  const e = b.entries.find((x) => x.content?.envelope && JSON.parse(Buffer.from(x.content.envelope.payload, "base64")).type === "creditlog.record/v1");
  const p = JSON.parse(Buffer.from(e.content.envelope.payload, "base64"));
  p.reference = "伪造文号";
  e.content.envelope.payload = Buffer.from(JSON.stringify(p)).toString("base64");
  const forged = path.join(demo.data, "forged.bundle.json");
  fs.writeFileSync(forged, JSON.stringify(b));
  assert.throws(() => execFileSync(bin, ["verify", forged, "--log-key", demo.logKey], { stdio: "pipe" })); // the CLI refuses it too
  await page.setInputFiles("[data-testid=bundle-file]", forged);
  await page.waitForFunction(() => document.querySelector("[data-testid=bundle-verdict]")?.textContent.startsWith("✗"));
  assert.match(await page.textContent("[data-testid=bundle-verdict]"), new RegExp(`第 ${e.index} 条内容在写入日志后被改动`));
  await shot(page, "12-verify-forged-bundle");
});

test("an auditor looks up a firm and verifies its history; the firm then sees who read its file", async () => {
  const page = await newPage(demo.url);
  await signIn(page, keys().auditor);
  await ready(page, "#/auditor");
  await page.fill("[data-testid=audit-uscc]", demo.firm);
  await page.press("[data-testid=audit-uscc]", "Enter");
  await ready(page, `#/auditor/${demo.firm}/grades`);
  await page.waitForSelector("[data-testid=class]");
  await page.click("[data-tab=history]");
  await ready(page, `#/auditor/${demo.firm}/history`);
  const summary = await page.textContent("[data-testid=history-summary]");
  assert.match(summary, /条已在本页核验/);
  await shot(page, "13-auditor-history");

  const firm = await newPage(demo.url);
  await signIn(firm, keys().firm, demo.firm);
  await firm.click("[data-tab=reads]");
  await ready(firm, "#/enterprise/reads");
  const reads = await firm.textContent("[data-testid=reads]");
  // Oracle: the auditor's registered name, from the key file's entry on the log (the CLI's view).
  const id = JSON.parse(fs.readFileSync(keys().auditor, "utf8")).key_id;
  const info = JSON.parse(execFileSync("curl", ["-s", `${demo.url}/v1/keys/${id}`], { encoding: "utf8" }));
  assert.ok(reads.includes(info.holder), `the firm's page does not show the auditor's read: ${reads}`);
  await shot(firm, "14-firm-reads");
});

test("the grading authority sees overdue objections across departments and re-grades a model from the page", async () => {
  const page = await newPage(demo.url);
  await signIn(page, keys().authority);
  await ready(page, "#/authority/overview");
  await page.waitForSelector("[data-testid=objections]");
  await shot(page, "15-authority-overview");
  await page.click("[data-tab=regrade]");
  await ready(page, "#/authority/regrade");
  await page.click("[data-testid=regrade-start]");
  const out = await page.waitForSelector("[data-testid=regrade-result]", { timeout: 300_000 });
  const result = JSON.parse(await out.textContent());
  // Oracle: the demo graded this many firms under the general model (its printed total).
  const total = Number(/, (\d+) firms:/.exec(demo.stdout())[1]);
  assert.equal(result.evaluated, total, JSON.stringify(result));
  await shot(page, "16-authority-regrade");
});

test("a firm signs a commitment in its page; a repair the rules refuse shows the refusal and its rule", async () => {
  const page = await newPage(demo.url);
  await signIn(page, keys().firm, demo.firm);
  await page.click("[data-tab=commitments]");
  await ready(page, "#/enterprise/commitments");
  const form = "[data-testid=commitment-form]";
  await page.fill(`${form} input[placeholder=zibo-amr]`, "zibo-amr");
  await page.fill(`${form} textarea`, "浏览器测试：三个月内完成消防设施检测");
  await page.fill(`${form} input[type=date]`, "2027-03-01");
  await page.click(`${form} button[type=submit]`);
  const logged = await page.waitForSelector(`${form} [data-testid=appended]`);
  const index = /(\d+)/.exec(await logged.textContent())[1];
  // Oracle: the CLI lists it, open, due that day.
  const out = execFileSync(bin, ["commitment", "list", "--uscc", demo.firm, "--key", keys().firm, "--server", demo.url], { encoding: "utf8" });
  assert.match(out, new RegExp(`^commitment ${index} by ${demo.firm} \\(notice_and_commitment\\), checked by zibo-amr, due 2027-03-01: open$`, "m"));

  // A licence is not a record credit repair applies to (rules/repair.toml): the page shows the
  // server's refusal with the rule's name, and nothing is logged.
  const licence = cliHistory().find((e) => e.endsWith("record/administrative_licence")).split(" ")[0];
  await page.click("[data-tab=repairs]");
  await ready(page, "#/enterprise/repairs");
  await page.fill("[data-testid=repair-form] input[type=number]", licence);
  const proof = path.join(demo.data, "罚款缴纳凭证.pdf");
  fs.writeFileSync(proof, "%PDF-1.4 a receipt\n");
  await page.setInputFiles("[data-testid=repair-form] input[type=file]", proof);
  await page.click("[data-testid=repair-form] button[type=submit]");
  const err = await page.waitForSelector("[data-testid=repair-form] .error");
  assert.match(await err.textContent(), /repair-kind/);
  await shot(page, "17-firm-repair-refused");
});
