// creditlog portal (信用风险分类监管门户): one page, routed by the URL's #fragment. It calls the
// same /v1 API as every other client: signed requests with the user's key file, imported into the
// browser as a non-extractable WebCrypto key; every proof it shows is checked here (verify.js).
// Texts from the server (names, statements, record fields) are inserted as text, never as HTML.

import { T, getLang, setLang, kindName, statusName } from "./i18n.js";
import * as C from "./crypto.js";
import * as V from "./verify.js";
import * as D from "./draw.js";

const state = { key: null, who: null, uscc: null, today: null, keys: null, logKey: null };
const view = () => document.getElementById("view");

// Replaces an element's children; nested lists are flattened, null and false left out.
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat(Infinity).filter((k) => k !== null && k !== undefined && k !== false));
}
const render = (...kids) => fill(view(), ...kids);

// ---------------------------------------------------------------- small helpers

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const fen = (n) => (n === undefined || n === null ? "" : `${(n / 1_000_000).toFixed(2)} ${T("万元", "×10k yuan")}`);
const dateOf = (secs) => new Date(secs * 1000 + 8 * 3600 * 1000).toISOString().slice(0, 10);

function problemText(e) {
  if (e.problem) {
    const p = e.problem;
    const rule = p.rule_name || (p.type || "").replace("/problems/", "");
    return `${p.title || ""}: ${p.detail || ""}${rule ? ` [${T("规则", "rule")} ${rule}]` : ""}`;
  }
  return e.message;
}

const errorBox = (e) => h("div", { class: "error", role: "alert" }, problemText(e));

async function api(method, path, { body, signed = false, raw = false, contentType = "application/json" } = {}) {
  const headers = {};
  let bytes;
  if (body !== undefined) {
    bytes = body instanceof Uint8Array ? body : C.utf8(JSON.stringify(body));
    headers["Content-Type"] = contentType;
  }
  if (signed) {
    if (!state.key) throw new Error(T("请先用密钥文件登录", "sign in with your key file first"));
    Object.assign(headers, await C.signRequest(state.key, method, path, bytes));
  }
  const r = await fetch(path, { method, headers, body: bytes });
  if (raw) {
    if (!r.ok) {
      const e = new Error(r.statusText);
      try {
        e.problem = await r.json();
      } catch {
        /* not JSON */
      }
      throw e;
    }
    return r;
  }
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = { detail: text };
  }
  if (!r.ok) {
    const e = new Error(json.detail || json.title || r.statusText);
    e.problem = json;
    e.status = r.status;
    throw e;
  }
  return json;
}

function table(headers, rows, attrs = {}) {
  return h("table", attrs, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))), h("tbody", {}, rows));
}

function tabs(base, items, current) {
  return h(
    "nav",
    { class: "tabs" },
    items.map(([id, label]) => h("a", { href: `#/${base}/${id}`, class: id === current ? "on" : "", "data-tab": id }, label)),
  );
}

function chart(el, option) {
  // ECharts is loaded by index.html from /portal/vendor (never from outside). It sizes itself
  // from the element, so it draws once the element is on the page.
  const draw = () => {
    if (!el.isConnected) return requestAnimationFrame(draw);
    const c = globalThis.echarts.init(el, null, { renderer: "svg" });
    c.setOption({ animation: false, textStyle: { fontFamily: "inherit" }, ...option });
    el.dataset.rendered = "true";
  };
  draw();
}

async function today() {
  if (!state.today) state.today = (await api("GET", "/v1/jurisdiction")).today;
  return state.today;
}

// The log key the page trusts: the first one this browser saw for this server (trust on first
// use, like SSH), or one the user pasted (the key the operator publishes). A change is shown.
async function logKey() {
  const info = await api("GET", "/v1/log");
  const stored = localStorage.getItem("creditlog.logkey");
  if (!stored) {
    localStorage.setItem("creditlog.logkey", info.verifier_key);
    state.logKey = { key: info.verifier_key, info };
  } else {
    state.logKey = { key: stored, info, changed: stored !== info.verifier_key };
  }
  return state.logKey;
}

function keyBook() {
  if (!state.keys) state.keys = new V.KeyBook((id) => api("GET", `/v1/keys/${id}`));
  return state.keys;
}

async function firmName(uscc) {
  try {
    const r = await api("GET", `/v1/firms?q=${encodeURIComponent(uscc)}`);
    const f = r.firms.find((x) => x.uscc === uscc);
    return f ? f.name : "";
  } catch {
    return "";
  }
}

function verdict(ok, text, attrs = {}) {
  const cls = ok === true ? "ok" : ok === false ? "bad" : "warn";
  const mark = ok === true ? "✓" : ok === false ? "✗" : "…";
  return h("span", { class: `verdict ${cls}`, ...attrs }, `${mark} ${text}`);
}

// ---------------------------------------------------------------- chrome

function renderChrome() {
  const who = state.who
    ? h(
        "span",
        { class: "who", "data-testid": "who" },
        `${T("已登录", "Signed in")}: ${state.who.label}`,
        " ",
        h("button", { onclick: signOut, "data-testid": "sign-out" }, T("退出", "Sign out")),
      )
    : h("a", { href: "#/signin", "data-testid": "sign-in-link" }, T("密钥登录", "Sign in with a key file"));
  const nav = [
    ["#/", T("公示查询", "Public search")],
    ["#/log", T("日志状态", "Log state")],
  ];
  if (state.who?.kind === "enterprise") nav.push(["#/enterprise/grades", T("本企业", "My firm")]);
  if (state.who?.kind === "department") nav.push(["#/department/import", T("部门工作台", "Department")]);
  if (state.who?.kind === "grading_authority") nav.push(["#/authority/overview", T("分类机关", "Grading authority")]);
  if (state.who && ["auditor", "court", "grading_authority", "department"].includes(state.who.kind)) {
    nav.push(["#/dashboard", T("统计看板", "Dashboard")]);
  }
  if (state.who && ["auditor", "court"].includes(state.who.kind)) nav.push(["#/auditor", T("审计与司法", "Audit and courts")]);
  nav.push(["#/verify", T("核验证据包", "Verify a bundle")]);
  const header = document.getElementById("top");
  header.replaceChildren(
    h("div", { class: "brand" }, h("strong", {}, T("企业信用风险分类监管 · 可验证登记", "Enterprise credit-risk registry")), h("small", {}, " creditlog")),
    h("nav", { class: "main" }, nav.map(([href, label]) => h("a", { href }, label))),
    h(
      "div",
      { class: "side" },
      who,
      " ",
      h("button", { class: "lang", "data-testid": "lang", onclick: () => (setLang(getLang() === "zh" ? "en" : "zh"), route()) }, getLang() === "zh" ? "English" : "中文"),
    ),
  );
}

function signOut() {
  Object.assign(state, { key: null, who: null, uscc: null });
  location.hash = "#/";
}

// ---------------------------------------------------------------- public pages

async function publicSearch() {
  const input = h("input", { id: "q", placeholder: T("统一社会信用代码或企业名称", "USCC or firm name"), "data-testid": "search-input", autofocus: true });
  const out = h("div", { id: "results" });
  const go = async (ev) => {
    ev?.preventDefault();
    fill(out, T("查询中…", "Searching…"));
    const q = input.value.trim();
    try {
      const r = await api("GET", `/v1/firms?q=${encodeURIComponent(q)}`);
      const rows = r.firms.map((f) => h("tr", {}, h("td", {}, h("a", { href: `#/firm/${f.uscc}`, "data-testid": "firm-link" }, f.name)), h("td", { class: "mono" }, f.uscc), h("td", {}, f.region || "")));
      if (!rows.length && /^[0-9A-HJ-NPQRTUWXY]{18}$/.test(q.toUpperCase())) {
        location.hash = `#/firm/${q.toUpperCase()}`;
        return;
      }
      fill(out, rows.length ? table([T("企业名称", "Name"), T("统一社会信用代码", "USCC"), T("地区", "Region")], rows) : T("没有找到企业。", "No firm found."));
    } catch (e) {
      fill(out, errorBox(e));
    }
  };
  render(
    h("h1", {}, T("企业信用信息公示查询", "Public credit information search")),
    h(
      "p",
      { class: "lead" },
      T(
        "这里只显示依法公示（公示期内）的记录：行政许可、行政处罚、抽查检查结果等。信用风险分类结果和评分不公示。",
        "Only records public by law (公示), within their publicity period, are shown. Credit-risk classes and scores are not public.",
      ),
    ),
    h("form", { onsubmit: go, class: "search" }, input, h("button", { type: "submit", "data-testid": "search-button" }, T("查询", "Search"))),
    out,
  );
}

async function publicFirm(uscc) {
  render(T("加载中…", "Loading…"));
  const [name, lk] = await Promise.all([firmName(uscc), logKey()]);
  let d;
  try {
    d = await api("GET", `/v1/enterprises/${uscc}/disclosure`);
  } catch (e) {
    render(errorBox(e));
    return;
  }
  let cp = null;
  let cpErr = null;
  try {
    cp = await V.openCheckpoint(d.checkpoint, lk.key);
  } catch (e) {
    cpErr = e;
  }
  const rows = [];
  for (const r of d.records) {
    let status;
    let fields = r.fields;
    if (!cp) status = verdict(false, T("检查点签名无效", "checkpoint signature invalid"));
    else if (r.opening) {
      const o = r.opening;
      // The chain commitment is not opened in public (its salt is private); every other check is made.
      const content = { envelope: o.envelope, subject: uscc, salts: { content: o.content_salt, subject: o.subject_salt } };
      const res = await V.checkEntry({ index: r.index, header: o.header, proof: o.proof, content }, cp, keyBook(), uscc, true);
      const failed = res.failed;
      const payload = JSON.parse(C.fromUtf8(C.unb64(o.envelope.payload)));
      fields = payload.fields; // shown from the signed record itself, not from the server's copy
      status = failed ? verdict(false, failed.message, { "data-status": "fail" }) : verdict(true, T("已核验：在日志中，内容未被改动，部门签名有效", "verified: in the log, unchanged, signed by the department"), { "data-status": "ok", "data-checks": res.checks.map((c) => c.check).join(" "), title: res.checks.map((c) => c.message).join("\n") });
    } else {
      status = verdict(null, T("含不公示字段，仅显示公示字段（无证明）", "has non-public fields: public fields shown, without a proof"), { "data-status": "partial" });
    }
    rows.push(
      h(
        "tr",
        { "data-entry": r.index },
        h("td", {}, kindName(r.kind)),
        h("td", {}, r.department),
        h("td", {}, r.date),
        h("td", {}, r.reference),
        h("td", {}, fieldList(fields)),
        h("td", {}, r.public_until?.date || T("长期", "indefinite")),
        h("td", {}, status),
      ),
    );
  }
  const stopped = d.stopped.map((s) => h("li", {}, `${kindName(s.kind)} ${s.reference} (${s.department}): ${howName(s.how)} ${s.on}`));
  render(
    h("h1", {}, name || uscc, " ", h("small", { class: "mono" }, uscc)),
    h("p", {}, T(`公示日期 ${d.as_of}；证明基于日志检查点（${d.size} 条）。`, `As of ${d.as_of}; proved against the log checkpoint of ${d.size} entries.`)),
    cp ? verdict(true, T("检查点由日志密钥签名", "checkpoint signed by the log key"), { "data-testid": "checkpoint-status" }) : verdict(false, cpErr?.message, { "data-testid": "checkpoint-status" }),
    lk.changed ? h("div", { class: "error" }, T("警告：服务器的日志密钥与本浏览器首次记录的不同。", "Warning: the server's log key differs from the one this browser first recorded.")) : null,
    h("h2", {}, T("公示记录", "Public records")),
    rows.length
      ? table([T("类别", "Kind"), T("部门", "Department"), T("日期", "Date"), T("文号", "Reference"), T("内容", "Content"), T("公示截止", "Public until"), T("核验", "Check")], rows, { "data-testid": "disclosure" })
      : h("p", {}, T("目前没有公示期内的记录。", "No record is within its publicity period.")),
    stopped.length ? [h("h2", {}, T("已停止公示（更正、修复、移出）", "No longer shown (corrected, repaired, removed)")), h("ul", {}, stopped)] : null,
  );
}

function howName(how) {
  const m = { repaired: ["已信用修复", "repaired"], corrected: ["已更正", "corrected"], removed: ["已移出", "removed"], corrected_and_redacted: ["已更正并依规删除", "corrected and deleted"] };
  return m[how] ? T(m[how][0], m[how][1]) : how;
}

function fieldList(fields) {
  if (!fields || typeof fields !== "object") return "";
  return h(
    "dl",
    { class: "fields" },
    Object.entries(fields).map(([k, v]) => [h("dt", {}, k), h("dd", {}, k.endsWith("_fen") ? fen(v) : Array.isArray(v) ? v.join("、") : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))]),
  );
}

async function logState() {
  render(T("加载中…", "Loading…"));
  const lk = await logKey();
  const note = await (await api("GET", "/checkpoint", { raw: true })).text();
  let status;
  try {
    const cp = await V.openCheckpoint(note, lk.key);
    status = verdict(true, T(`检查点有效：${cp.size} 条，由日志密钥签名`, `valid checkpoint: ${cp.size} entries, signed by the log key`), { "data-testid": "checkpoint-status" });
  } catch (e) {
    status = verdict(false, e.message, { "data-testid": "checkpoint-status" });
  }
  const keyInput = h("input", { value: lk.key, class: "mono wide", "data-testid": "log-key" });
  const witnesses = note.split("\n\n")[1].split("\n").filter((l) => l && !l.startsWith(`— ${lk.info.origin} `));
  render(
    h("h1", {}, T("日志状态", "Log state")),
    table([T("项目", "Item"), T("值", "Value")], [
      h("tr", {}, h("td", {}, T("日志名称", "Origin")), h("td", { class: "mono" }, lk.info.origin)),
      h("tr", {}, h("td", {}, T("条目数", "Size")), h("td", { "data-testid": "log-size" }, String(lk.info.size))),
      h("tr", {}, h("td", {}, T("根哈希", "Root hash")), h("td", { class: "mono" }, lk.info.root_hash)),
      h("tr", {}, h("td", {}, T("见证人联署", "Witness cosignatures")), h("td", {}, witnesses.length ? String(witnesses.length) : T("暂无见证人", "no witnesses yet"))),
    ]),
    status,
    h("h2", {}, T("最新检查点（C2SP 格式）", "Latest checkpoint (C2SP)")),
    h("pre", { "data-testid": "checkpoint" }, note),
    h("h2", {}, T("本页信任的日志密钥", "The log key this page trusts")),
    h(
      "p",
      {},
      T(
        "首次访问时记录服务器的日志密钥；请与运营方公布的密钥核对，或粘贴公布的密钥。",
        "Recorded from the server on first visit; compare it with the key the operator publishes, or paste the published key.",
      ),
    ),
    keyInput,
    h("button", { onclick: () => (localStorage.setItem("creditlog.logkey", keyInput.value.trim()), logState()) }, T("保存", "Save")),
  );
}

// ---------------------------------------------------------------- sign in

async function signIn() {
  const file = h("input", { type: "file", accept: ".key,.json,application/json", "data-testid": "key-file" });
  const uscc = h("input", { placeholder: T("企业登录时填写本企业统一社会信用代码", "USCC (firms only)"), "data-testid": "uscc", class: "mono" });
  const out = h("div");
  const go = async (ev) => {
    ev.preventDefault();
    fill(out, );
    try {
      if (!file.files[0]) throw new Error(T("请选择密钥文件", "choose your key file"));
      const key = await C.importKeyFile(await file.files[0].text());
      state.key = key;
      let who;
      try {
        const info = await api("GET", `/v1/keys/${key.keyId}`);
        if (info.revoked_at_entry !== null) throw new Error(T(`该密钥已于第 ${info.revoked_at_entry} 条吊销`, `this key was revoked at entry ${info.revoked_at_entry}`));
        // Role keys are {"kind": "role", "id": [role, name]}; departments {"kind": "department", "id": code}.
        const p = info.principal;
        const kind = p.kind === "role" ? p.id[0] : p.kind;
        const roles = { grading_authority: T("分类机关", "grading authority"), auditor: T("审计", "auditor"), court: T("法院", "court"), grader: T("分类程序", "grader"), witness: T("见证人", "witness") };
        const label = info.department ? `${info.department.name} (${info.department.code})` : p.kind === "role" ? `${p.id[1]} · ${roles[kind] || kind}` : info.holder;
        who = { kind, id: p.id, label, info };
      } catch (e) {
        if (e.status !== 404) throw e;
        // Enterprise keys are not published; the firm names itself and the server checks the
        // key is bound to it on the first signed read.
        const u = uscc.value.trim().toUpperCase();
        if (!u) throw new Error(T("这是企业密钥：请填写本企业统一社会信用代码", "this is an enterprise key: enter your firm's USCC"));
        await api("GET", `/v1/enterprises/${u}`, { signed: true });
        who = { kind: "enterprise", id: u, label: `${(await firmName(u)) || u} (${u})` };
        state.uscc = u;
      }
      state.who = who;
      renderChrome();
      location.hash = who.kind === "enterprise" ? "#/enterprise/grades" : who.kind === "department" ? "#/department/import" : who.kind === "grading_authority" ? "#/authority/overview" : "#/auditor";
    } catch (e) {
      state.key = null;
      fill(out, errorBox(e));
    }
  };
  render(
    h("h1", {}, T("密钥登录", "Sign in with a key file")),
    h(
      "p",
      {},
      T(
        "密钥文件只在本浏览器中读取，私钥导入后不可导出，不会发送到服务器；每个请求都在页面内签名（RFC 9421）。",
        "The key file is read in this browser only; the private key is imported as non-extractable and never sent; every request is signed in the page (RFC 9421).",
      ),
    ),
    h("form", { onsubmit: go, class: "signin" }, h("label", {}, T("密钥文件", "Key file"), " ", file), h("label", {}, T("统一社会信用代码", "USCC"), " ", uscc), h("button", { type: "submit", "data-testid": "sign-in" }, T("登录", "Sign in"))),
    out,
  );
}

// ---------------------------------------------------------------- a firm's file (the firm itself, auditors, courts)

// The published model a decision cites: its bytes are fetched and hashed here, so the names
// shown are those of the very model the decision names (its SHA-256), not a label the server
// chose. Names are read from the TOML's `id = ...` / `name = ...` pairs.
const models = new Map();
async function modelNames(hash) {
  if (!models.has(hash)) {
    models.set(
      hash,
      (async () => {
        const bytes = new Uint8Array(await (await api("GET", `/v1/models/${hash}`, { raw: true })).arrayBuffer());
        const ok = C.hex(await C.sha256(bytes)) === hash;
        const names = {};
        let pending = null;
        for (const line of C.fromUtf8(bytes).split("\n")) {
          const id = /^\s*id\s*=\s*"([^"]+)"/.exec(line);
          const name = /^\s*name\s*=\s*"([^"]+)"/.exec(line);
          if (id) pending = id[1];
          else if (name && pending) {
            names[pending] = name[1];
            pending = null;
          } else if (name && !names[""]) names[""] = name[1];
        }
        return { ok, names };
      })(),
    );
  }
  return models.get(hash);
}

async function gradesPanel(uscc) {
  const box = h("div", { "data-testid": "grades" });
  try {
    const r = await api("GET", `/v1/enterprises/${uscc}`, { signed: true });
    if (!r.grades.length) box.append(h("p", {}, T("尚无分类结果。", "No grade yet.")));
    for (const g of r.grades) {
      const b = g.decision?.breakdown;
      const m = await modelNames(g.model).catch(() => ({ ok: false, names: {} }));
      const label = (id) => (m.names[id] ? `${m.names[id]} ${getLang() === "zh" ? "" : `(${id})`}` : id);
      const chartEl = h("div", { class: "chart", "data-testid": "breakdown-chart" });
      const rows = [];
      const walk = (node, depth) => {
        rows.push(h("tr", { class: `ind d${depth}` }, h("td", {}, "　".repeat(depth) + label(node.id)), h("td", {}, ""), h("td", { class: "num" }, String(node.capped)), h("td", {}, node.raw !== node.capped ? T(`封顶前 ${node.raw}`, `before cap ${node.raw}`) : "")));
        for (const p of node.points) {
          if (!p.points && !p.records.length) continue;
          rows.push(h("tr", { class: "point" }, h("td", {}, "　".repeat(depth + 1) + label(p.id)), h("td", {}, p.records.map((i) => h("a", { href: `#/entry/${i}` }, `#${i} `))), h("td", { class: "num" }, String(p.points)), h("td", {}, "")));
        }
        for (const c of node.children) walk(c, depth + 1);
      };
      (b?.indicators || []).forEach((n) => walk(n, 0));
      box.append(
        h("section", { class: "grade" },
          h("h3", {}, T("分类结果", "Class"), " ", h("span", { class: `class c${g.class}`, "data-testid": "class" }, g.class), " ", T(`得分 ${g.score}`, `score ${g.score}`), " · ", T(`基准日 ${g.as_of}`, `as of ${g.as_of}`), " · ", T(`决定 #${g.decision_index}`, `decision #${g.decision_index}`)),
          h("p", { class: "small" }, T("模型", "Model"), " ", m.names[""] || "", " ", h("span", { class: "mono" }, g.model), " ", m.ok ? verdict(true, T("模型文件与决定引用的哈希一致", "the model file matches the hash the decision cites")) : verdict(false, T("模型文件与决定引用的哈希不一致", "the model file does not match the hash the decision cites"))),
          b ? h("p", {}, T(`基础分 ${b.base}，各一级指标得分如下；每个观察点列出其依据的日志条目。`, `Base ${b.base}; each top-level indicator below, and every observation point with the log entries it rests on.`)) : null,
          chartEl,
          table([T("指标 / 观察点", "Indicator / observation point"), T("依据条目", "Entries"), T("得分", "Points"), ""], rows, { "data-testid": "breakdown-table" }),
        ),
      );
      if (b) {
        const top = b.indicators;
                  chart(chartEl, {
            grid: { left: 140, right: 30, top: 20, bottom: 30 },
            xAxis: { type: "value" },
            yAxis: { type: "category", data: top.map((n) => m.names[n.id] || n.id) },
            series: [{ type: "bar", data: top.map((n) => n.capped), label: { show: true, position: "right" } }],
          });
      }
    }
  } catch (e) {
    box.append(errorBox(e));
  }
  return box;
}

function summarise(p) {
  if (!p) return "";
  if (p.type === "creditlog.record/v1") return `${p.department} · ${p.date} · ${p.reference}`;
  if (p.type === "creditlog.decision/v1") return `${T("分类", "class")} ${p.breakdown?.class ?? ""} · ${p.as_of}`;
  if (p.type === "creditlog.objection/v1") return `${p.step} · ${p.date}${p.target_index !== undefined ? ` · #${p.target_index}` : ""}${p.outcome ? ` · ${statusName(p.outcome)}` : ""}`;
  return [p.action, p.step, p.rule, p.date].filter(Boolean).join(" · ");
}

async function historyPanel(uscc) {
  const box = h("div", { "data-testid": "history" });
  box.append(T("读取并核验历史…", "Reading and checking the history…"));
  try {
    const lk = await logKey();
    // The history comes in pages (1,000 entries each), each proved against its own checkpoint.
    const pages = [];
    let after = null;
    for (;;) {
      const path = `/v1/enterprises/${uscc}/history${after !== null ? `?after=${after}` : ""}`;
      const doc = await api("GET", path, { signed: true });
      pages.push(doc);
      if (doc.next === null || doc.next === undefined) break;
      after = doc.next;
    }
    const { results } = await V.checkPages(pages, lk.key, keyBook(), uscc);
    const bad = results.filter((r) => r.failed);
    const items = results.map((r) => {
      const ok = r.failed ? false : r.redacted ? null : true;
      const kind = r.header?.kind || "?";
      return h(
        "li",
        { class: `entry ${ok === false ? "bad" : ok ? "ok" : "warn"}`, "data-entry": r.index, "data-status": ok === false ? "fail" : ok ? "ok" : "withheld" },
        h("span", { class: "when" }, r.header ? dateOf(r.header.time) : ""),
        h("span", { class: "what" }, `#${r.index} `, kindName(kind), " ", h("small", {}, summarise(r.payload))),
        verdict(ok, ok === false ? r.failed.message : ok ? T("已核验", "verified") : r.checks[r.checks.length - 1].message),
        h("details", {}, h("summary", {}, T("核验项目", "checks")), h("ul", {}, r.checks.map((c) => h("li", {}, `${c.ok === true ? "✓" : c.ok === false ? "✗" : "…"} ${c.check}: ${c.message}`))), r.payload ? h("pre", {}, JSON.stringify(r.payload, null, 1)) : null),
      );
    });
    fill(box, 
      h(
        "p",
        { "data-testid": "history-summary", class: bad.length ? "error" : "okline" },
        bad.length
          ? T(`${results.length} 条中有 ${bad.length} 条未通过核验，首个：${bad[0].failed.message}`, `${bad.length} of ${results.length} entries failed; first: ${bad[0].failed.message}`)
          : T(`全部 ${results.length} 条已在本页核验：检查点签名、收录证明、内容承诺、作者签名、链条完整。`, `All ${results.length} entries checked in this page: checkpoint signature, inclusion, commitments, author signatures, and an unbroken chain.`),
      ),
      h(
        "p",
        { class: "small" },
        T(
          "权限规则、密钥历史与分类结果的重算由 creditlog verify 对证据包进行（下载见“证据包”）。",
          "The authority rules, the key history and decision replay are checked by `creditlog verify` on the evidence bundle (see Evidence bundle).",
        ),
      ),
      h("ol", { class: "timeline" }, items),
    );
  } catch (e) {
    fill(box, errorBox(e));
  }
  return box;
}

async function listPanel(path, key, columns) {
  try {
    const r = await api("GET", path, { signed: true });
    const list = r[key] || [];
    if (!list.length) return h("p", {}, T("暂无。", "None."));
    return table(columns.map((c) => c[0]), list.map((x) => h("tr", { class: x.overdue ? "overdue" : "", "data-index": x.index }, columns.map((c) => h("td", {}, c[1](x))))), { "data-testid": key });
  } catch (e) {
    return errorBox(e);
  }
}

const objectionColumns = () => [
  [T("条目", "Entry"), (o) => `#${o.index}`],
  [T("企业", "Firm"), (o) => o.subject],
  [T("异议对象", "Contested"), (o) => (o.target_index !== undefined ? `#${o.target_index}` : T("遗漏", "omission"))],
  [T("理由", "Grounds"), (o) => o.grounds],
  [T("陈述", "Statement"), (o) => o.statement],
  [T("状态", "Status"), (o) => statusName(o.status)],
  [T("受理期限", "Accept by"), (o) => o.accept_by + (o.provisional ? "*" : "")],
  [T("办结期限", "Resolve by"), (o) => o.resolve_by || ""],
  [T("逾期", "Overdue"), (o) => (o.overdue ? h("strong", { class: "overdue-mark" }, T("逾期", "overdue")) : "")],
  [T("处理", "Routed to"), (o) => o.routed_to],
];

function form(fields, submitLabel, onsubmit, testid) {
  const out = h("div");
  const el = h(
    "form",
    {
      class: "entryform",
      "data-testid": testid,
      onsubmit: async (ev) => {
        ev.preventDefault();
        fill(out, T("签名并提交…", "Signing and submitting…"));
        try {
          fill(out, await onsubmit(Object.fromEntries(fields.map((f) => [f[0], f[2]]))));
        } catch (e) {
          fill(out, errorBox(e));
        }
      },
    },
    fields.map(([, label, input]) => h("label", {}, h("span", {}, label), input)),
    h("button", { type: "submit" }, submitLabel),
    out,
  );
  return el;
}

const appended = (r) => h("p", { class: "okline", "data-testid": "appended" }, T(`已写入日志第 ${r.index} 条。`, `Logged as entry ${r.index}.`));

async function submitEntry(path, payloadType, payload) {
  const env = await C.signEnvelope(state.key, payloadType, payload);
  return appended(await api("POST", path, { body: env, signed: true }));
}

async function objectionsTab(uscc) {
  const day = await today();
  const target = h("input", { type: "number", min: 0, required: true, "data-testid": "objection-target" });
  const grounds = h("select", {}, [["error", "记录有误 error"], ["duplicate", "重复 duplicate"], ["expired", "已过公示期 expired"], ["should_not_be_published", "不应公示 should not be published"]].map(([v, l]) => h("option", { value: v }, l)));
  const statement = h("textarea", { required: true, maxlength: 2000, "data-testid": "objection-statement" });
  const commitment = h("textarea", { required: true, maxlength: 2000 }, "本企业承诺所提异议及所附材料真实、准确、完整，如有虚假，愿承担相应法律责任。");
  return [
    h("h2", {}, T("异议（对记录或分类结果提出）", "Objections (异议) to a record or a grade")),
    await listPanel(`/v1/enterprises/${uscc}/objections`, "objections", objectionColumns()),
    h("h3", {}, T("提出异议", "File an objection")),
    form(
      [["target", T("异议对象（日志条目号）", "Contested entry (index)"), target], ["grounds", T("理由", "Grounds"), grounds], ["statement", T("陈述", "Statement"), statement], ["commitment", T("异议承诺", "Commitment (异议承诺)"), commitment]],
      T("签名并提交异议", "Sign and file"),
      (f) => submitEntry("/v1/objections", "application/vnd.creditlog.objection+json", { type: "creditlog.objection/v1", step: "filed", subject: uscc, target_index: Number(f.target.value), grounds: f.grounds.value, statement: f.statement.value, commitment: f.commitment.value, date: day }),
      "objection-form",
    ),
  ];
}

async function repairsTab(uscc) {
  const day = await today();
  const target = h("input", { type: "number", min: 0, required: true });
  const commitment = h("textarea", { required: true }, "本企业承诺：已履行行政处罚决定规定的义务，纠正违法行为，今后守法诚信经营。");
  const proofFile = h("input", { type: "file", multiple: true });
  return [
    h("h2", {}, T("信用修复", "Credit repair (信用修复)")),
    await listPanel(`/v1/enterprises/${uscc}/repairs`, "repairs", [
      [T("条目", "Entry"), (r) => `#${r.index}`],
      [T("修复对象", "Record"), (r) => `#${r.application?.target_index ?? r.target_index ?? ""}`],
      [T("状态", "Status"), (r) => statusName(r.status)],
    ]),
    h("h3", {}, T("申请信用修复", "Apply for repair")),
    h("p", { class: "small" }, T("证明材料不上传：页面计算每个文件的 SHA-256 写入申请，原件由企业保存。", "Proof documents are not uploaded: the page writes each file's SHA-256 into the application; the firm keeps the documents.")),
    form(
      [["target", T("修复对象（日志条目号）", "Record to repair (index)"), target], ["commitment", T("守信承诺书", "Commitment (守信承诺书)"), commitment], ["proofs", T("证明材料", "Proof documents"), proofFile]],
      T("签名并提交申请", "Sign and apply"),
      async (f) => {
        const proofs = [];
        for (const file of f.proofs.files) proofs.push({ description: file.name, sha256: C.hex(await C.sha256(new Uint8Array(await file.arrayBuffer()))) });
        return submitEntry("/v1/repairs", "application/vnd.creditlog.repair+json", { type: "creditlog.repair/v1", step: "applied", subject: uscc, target_index: Number(f.target.value), commitment: f.commitment.value, proofs, date: day });
      },
      "repair-form",
    ),
  ];
}

async function commitmentsTab(uscc) {
  const day = await today();
  const kind = h("select", {}, [["notice_and_commitment", "告知承诺 notice and commitment"], ["voluntary", "主动承诺 voluntary"]].map(([v, l]) => h("option", { value: v }, l)));
  const dept = h("input", { required: true, placeholder: "zibo-amr" });
  const content = h("textarea", { required: true });
  const due = h("input", { type: "date", required: true });
  return [
    h("h2", {}, T("信用承诺", "Commitments (信用承诺)")),
    await listPanel(`/v1/enterprises/${uscc}/commitments`, "commitments", [
      [T("条目", "Entry"), (c) => `#${c.index}`],
      [T("内容", "Content"), (c) => c.commitment.content],
      [T("部门", "Department"), (c) => c.commitment.department],
      [T("期限", "Due"), (c) => c.commitment.due],
      [T("状态", "Status"), (c) => statusName(c.status)],
    ]),
    h("h3", {}, T("作出承诺", "Make a commitment")),
    form(
      [["kind", T("类型", "Type"), kind], ["dept", T("核查部门（代码）", "Checking department (code)"), dept], ["content", T("承诺内容", "Content"), content], ["due", T("履行期限", "Due"), due]],
      T("签名并提交承诺", "Sign and commit"),
      (f) => submitEntry("/v1/commitments", "application/vnd.creditlog.commitment+json", { type: "creditlog.commitment/v1", subject: uscc, commitment_type: f.kind.value, department: f.dept.value.trim(), content: f.content.value, due: f.due.value, date: day }),
      "commitment-form",
    ),
  ];
}

async function readsTab(uscc) {
  // Both lists are the server's journal of reads (DOMAIN §8): who read the firm's class or file,
  // and who checked it for interception, with the time and what was read.
  const when = (r) => new Date(r.time * 1000).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB", { timeZone: "Asia/Shanghai" });
  return [
    h("h2", {}, T("谁查阅了本企业的分类结果与档案", "Who read this firm's class and file")),
    await listPanel(`/v1/enterprises/${uscc}/reads`, "reads", [[T("时间", "When"), when], [T("查阅者", "Reader"), (r) => r.who], [T("查阅内容", "What"), (r) => r.what]]),
    h("h2", {}, T("谁为拦截核查了本企业", "Who checked this firm for interception (自动拦截)")),
    await listPanel(`/v1/enterprises/${uscc}/checks`, "checks", [[T("时间", "When"), when], [T("核查者", "Checked by"), (r) => r.who], [T("用途", "Purpose"), (r) => r.what.replace(/^check /, "")]]),
  ];
}

async function bundleTab(uscc) {
  const out = h("div");
  const btn = h(
    "button",
    {
      "data-testid": "download-bundle",
      onclick: async () => {
        fill(out, T("生成中…", "Building…"));
        try {
          const r = await api("GET", `/v1/enterprises/${uscc}/bundle`, { signed: true, raw: true });
          const blob = await r.blob();
          const a = h("a", { href: URL.createObjectURL(blob), download: `${uscc}.bundle.json`, "data-testid": "bundle-link" }, `${uscc}.bundle.json (${blob.size} B)`);
          fill(out, a, h("p", { class: "small" }, T("离线核验：", "Verify offline: "), h("code", {}, `creditlog verify ${uscc}.bundle.json --log-key '${state.logKey?.key || ""}'`)));
          a.click();
        } catch (e) {
          fill(out, errorBox(e));
        }
      },
    },
    T("下载证据包", "Download the evidence bundle"),
  );
  return [h("h2", {}, T("证据包", "Evidence bundle")), h("p", {}, T("证据包包含本企业的全部历史及证明，可交律师、法院离线核验。", "The bundle holds the firm's whole history with proofs, for a lawyer or a court to check offline.")), btn, out];
}

async function enterprise(tab) {
  if (state.who?.kind !== "enterprise") return signIn();
  const uscc = state.uscc;
  const t = tab || "grades";
  const panels = {
    grades: () => gradesPanel(uscc),
    history: () => historyPanel(uscc),
    objections: () => objectionsTab(uscc),
    repairs: () => repairsTab(uscc),
    commitments: () => commitmentsTab(uscc),
    reads: () => readsTab(uscc),
    bundle: () => bundleTab(uscc),
  };
  const body = h("div", {}, T("加载中…", "Loading…"));
  render(
    h("h1", {}, state.who.label),
    tabs("enterprise", [["grades", T("分类结果", "Grades")], ["history", T("信用历史", "History")], ["objections", T("异议", "Objections")], ["repairs", T("信用修复", "Repair")], ["commitments", T("信用承诺", "Commitments")], ["reads", T("查阅记录", "Reads")], ["bundle", T("证据包", "Bundle")]], t),
    body,
  );
  fill(body, ...[await (panels[t] || panels.grades)()].flat());
}

// ---------------------------------------------------------------- departments

async function importTab() {
  const kinds = state.who.info?.department?.kinds || [];
  const kind = h("select", { "data-testid": "import-kind" }, kinds.filter((k) => k !== "retraction").map((k) => h("option", { value: k }, `${kindName(k)} (${k})`)));
  const file = h("input", { type: "file", accept: ".csv,.xlsx,.xls,.ods", "data-testid": "import-file" });
  const out = h("div", { "data-testid": "import-result" });
  let rows = [];
  const rowEls = new Map();
  const send = async (dry) => {
    const ok = rows.filter((r) => r.payload);
    const batch = 1000;
    let appendedN = 0;
    let rejectedN = 0;
    for (let i = 0; i < ok.length; i += batch) {
      const chunk = ok.slice(i, i + batch);
      const envs = [];
      for (const r of chunk) envs.push(await C.signEnvelopeBytes(state.key, "application/vnd.creditlog.record+json", C.unb64(r.payload)));
      const res = await api("POST", dry ? "/v1/records/check" : "/v1/records", { body: { records: envs }, signed: true });
      res.results.forEach((o, j) => {
        const tr = rowEls.get(chunk[j].line);
        const cell = tr.querySelector(".fate");
        if (o.outcome === "rejected") {
          rejectedN++;
          tr.classList.add("bad");
          cell.replaceChildren(`${o.rule_name || ""}: ${o.rule} (${o.field})`);
        } else {
          if (o.outcome !== "duplicate") appendedN++;
          cell.replaceChildren(o.outcome === "appended" ? T(`已写入 #${o.index}`, `appended #${o.index}`) : o.outcome === "duplicate" ? T(`已存在 #${o.index}`, `already logged #${o.index}`) : T("可写入", "would append"));
        }
      });
    }
    out.prepend(h("p", { class: rejectedN ? "error" : "okline", "data-testid": dry ? "check-summary" : "submit-summary" }, dry ? T(`核对：${appendedN} 条可写入，${rejectedN} 条被拒绝（未写入任何内容）`, `Check: ${appendedN} would append, ${rejectedN} refused (nothing written)`) : T(`提交：写入 ${appendedN} 条，拒绝 ${rejectedN} 条`, `Submitted: ${appendedN} appended, ${rejectedN} refused`)));
  };
  const read = async (ev) => {
    ev.preventDefault();
    fill(out, T("读取中…", "Reading…"));
    try {
      if (!file.files[0]) throw new Error(T("请选择文件", "choose a file"));
      const bytes = new Uint8Array(await file.files[0].arrayBuffer());
      const r = await api("POST", `/v1/imports/read?kind=${kind.value}`, { body: bytes, signed: true, contentType: "application/octet-stream" });
      rows = r.rows;
      rowEls.clear();
      const bad = rows.filter((x) => x.rule);
      const trs = rows.map((x) => {
        const tr = h(
          "tr",
          { class: x.rule ? "bad" : "", "data-line": x.line },
          h("td", {}, String(x.line)),
          h("td", { class: "mono" }, x.subject || ""),
          h("td", {}, x.reference || ""),
          h("td", { class: "col" }, x.column || ""),
          h("td", { class: "fate" }, x.rule ? `${x.rule}: ${x.message}` : x.duplicate_of_line ? T(`与第 ${x.duplicate_of_line} 行相同`, `same as line ${x.duplicate_of_line}`) : T("可读", "read")),
        );
        rowEls.set(x.line, tr);
        return tr;
      });
      fill(out, 
        h("p", {}, `${r.read_as}; ${T("表头在第", "header at line")} ${r.header_line}${T("行", "")}; ${r.layout}`),
        h("p", { "data-testid": "read-summary", class: bad.length ? "error" : "okline" }, T(`${rows.length} 行，${bad.length} 行有误（按行号与列名列出）`, `${rows.length} rows, ${bad.length} with errors (by line and column)`)),
        h("button", { onclick: () => send(true).catch((e) => out.prepend(errorBox(e))), "data-testid": "import-check" }, T("核对（不写入）", "Check (dry run)")),
        " ",
        h("button", { onclick: () => send(false).catch((e) => out.prepend(errorBox(e))), "data-testid": "import-submit" }, T("签名并提交", "Sign and submit")),
        table([T("行", "Line"), T("统一社会信用代码", "USCC"), T("文号", "Reference"), T("列", "Column"), T("结果", "Result")], trs, { "data-testid": "import-rows" }),
      );
    } catch (e) {
      fill(out, errorBox(e));
    }
  };
  return [
    h("h2", {}, T("导入双公示导出文件", "Import a 双公示 export")),
    h("p", { class: "small" }, T("服务器按国家标准列读取文件（CSV：UTF-8 或 GB18030；Excel），本页用部门密钥逐条签名后提交。", "The server reads the file by the national standard's columns (CSV in UTF-8 or GB18030; Excel); this page signs each row with the department's key and submits it.")),
    h("form", { onsubmit: read, class: "search" }, kind, file, h("button", { type: "submit", "data-testid": "import-read" }, T("读取", "Read"))),
    out,
  ];
}

async function department(tab) {
  if (state.who?.kind !== "department") return signIn();
  const t = tab || "import";
  const panels = {
    import: importTab,
    objections: async () => [h("h2", {}, T("待处理异议（逾期高亮）", "Objections routed to you (overdue highlighted)")), await listPanel("/v1/objections", "objections", [...objectionColumns(), [T("处理", "Answer"), objectionActions]])],
    warnings: async () => [h("h2", {}, T("风险预警", "Early warnings (风险预警)")), await warningsPanel()],
    plans: async () => [h("h2", {}, T("双随机抽查计划与抽取", "Inspection plans and draws (双随机)")), await plansPanel()],
    commitments: async () => [
      h("h2", {}, T("逾期未核查的企业承诺", "Commitments past due, not yet checked")),
      await listPanel("/v1/commitments?overdue=true", "commitments", [
        [T("条目", "Entry"), (c) => `#${c.index}`],
        [T("企业", "Firm"), (c) => c.commitment.subject],
        [T("内容", "Content"), (c) => c.commitment.content],
        [T("期限", "Due"), (c) => c.commitment.due],
      ]),
    ],
    sanctions: sanctionsLookup,
  };
  const body = h("div", {}, T("加载中…", "Loading…"));
  render(
    h("h1", {}, state.who.label),
    tabs("department", [["import", T("导入记录", "Import")], ["objections", T("异议", "Objections")], ["warnings", T("预警", "Warnings")], ["plans", T("抽查", "Plans")], ["commitments", T("承诺核查", "Commitments")], ["sanctions", T("惩戒", "Sanctions")]], t),
    body,
  );
  fill(body, ...[await (panels[t] || panels.import)()].flat());
}

// A department answers an objection routed to it (FORMAT.md §11), each step signed in the page:
// accept or refuse to accept; once accepted, reject, or uphold by retracting the contested record
// (a retraction with ground objection_upheld) and citing that retraction as the correction.
function objectionActions(o) {
  const reason = h("input", { placeholder: T("理由（告知企业）", "reason (shown to the firm)"), "data-testid": "answer-reason" });
  const out = h("span");
  const step = (payload) => C.signEnvelope(state.key, "application/vnd.creditlog.objection+json", { type: "creditlog.objection/v1", subject: o.subject, objection_index: o.index, ...payload });
  const act = (label, testid, fn) =>
    h(
      "button",
      {
        "data-testid": testid,
        onclick: async () => {
          fill(out, "…");
          try {
            const r = await fn();
            fill(out, h("span", { class: "okline", "data-testid": "answered" }, T(`已写入第 ${r.index} 条`, `logged as entry ${r.index}`)));
          } catch (e) {
            fill(out, errorBox(e));
          }
        },
      },
      label,
    );
  const post = async (env) => api("POST", "/v1/objections", { body: await env, signed: true });
  const needReason = () => {
    if (!reason.value.trim()) throw new Error(T("请填写理由", "give the reason"));
    return reason.value.trim();
  };
  if (o.status === "awaiting_acceptance") {
    return h("div", { class: "actions" }, act(T("受理", "Accept"), "accept", async () => post(step({ step: "accepted", accepted: true, date: await today() }))), " ", reason, " ", act(T("不予受理", "Refuse"), "refuse", async () => post(step({ step: "accepted", accepted: false, reason: needReason(), date: await today() }))), out);
  }
  if (o.status === "under_review" && o.target_index !== undefined) {
    return h(
      "div",
      { class: "actions" },
      reason,
      " ",
      act(T("异议不成立", "Reject"), "reject", async () => post(step({ step: "resolved", outcome: "rejected", reason: needReason(), date: await today() }))),
      " ",
      act(T("异议成立并撤回原记录", "Uphold and retract the record"), "uphold", async () => {
        const why = needReason();
        const day = await today();
        const record = { type: "creditlog.record/v1", kind: "retraction", subject: o.subject, department: state.who.id, date: day, reference: `异议更正〔${day.slice(0, 4)}〕${o.index}号`, fields: { target_index: o.target_index, ground: "objection_upheld", reason: why } };
        const env = await C.signEnvelope(state.key, "application/vnd.creditlog.record+json", record);
        const res = (await api("POST", "/v1/records", { body: { records: [env] }, signed: true })).results[0];
        if (res.outcome !== "appended") throw Object.assign(new Error(res.rule || res.outcome), { problem: { title: T("撤回被拒绝", "Retraction refused"), detail: res.rule, rule_name: res.rule_name } });
        return post(step({ step: "resolved", outcome: "upheld", reason: why, correction_index: res.index, date: day }));
      }),
      out,
    );
  }
  return "";
}

async function warningsPanel() {
  try {
    const r = await api("GET", "/v1/warnings", { signed: true });
    const list = r.warnings;
    const byMonth = {};
    for (const w of list) byMonth[w.warning.date.slice(0, 7)] = (byMonth[w.warning.date.slice(0, 7)] || 0) + 1;
    const chartEl = h("div", { class: "chart small", "data-testid": "warnings-chart" });
    const months = Object.keys(byMonth).sort();
    chart(chartEl, { xAxis: { type: "category", data: months }, yAxis: { type: "value" }, series: [{ type: "bar", data: months.map((m) => byMonth[m]) }] });
    return [
      chartEl,
      table(
        [T("条目", "Entry"), T("企业", "Firm"), T("规则", "Rule"), T("日期", "Date"), T("待处置部门", "Open for"), T("依据", "Basis")],
        list.map((w) => h("tr", { class: w.open_for.length ? "overdue" : "" }, h("td", {}, `#${w.index}`), h("td", { class: "mono" }, w.warning.subject), h("td", {}, w.rule_zh), h("td", {}, w.warning.date), h("td", {}, w.open_for.join(", ")), h("td", {}, w.warning.basis.map((i) => `#${i}`).join(" ")))),
        { "data-testid": "warnings" },
      ),
    ];
  } catch (e) {
    return errorBox(e);
  }
}

async function plansPanel() {
  try {
    const r = await api("GET", "/v1/plans", { signed: true });
    return [
      table(
        [T("计划", "Plan"), T("标题", "Title"), T("部门", "Department"), T("周期", "Cycle"), T("主体数", "Population"), T("抽取", "Drawn"), T("状态", "Status"), T("复核", "Replay")],
        r.plans.map((p) =>
          h(
            "tr",
            { "data-index": p.index },
            h("td", {}, `#${p.index} ${p.number}`),
            h("td", {}, p.title),
            h("td", {}, p.department),
            h("td", {}, `${p.cycle_start} – ${p.cycle_end}`),
            h("td", { class: "num" }, String(p.population)),
            h("td", { class: "num" }, String(p.drawn ?? "")),
            h("td", {}, statusName(p.status)),
            h("td", { class: "small" }, p.draw_index === undefined || p.draw_index === null ? T("未抽取", "not drawn") : state.who.kind === "department" && p.department !== state.who.id ? T("抽取结果在检查前仅对本部门、分类机关、审计与法院开放", "until the visits, only its department, the grading authority, auditors and courts may replay it") : replayCell(p.index)),
          ),
        ),
        { "data-testid": "plans" },
      ),
      h("p", { class: "small" }, T("每次抽取都在本页重放：核验包中的条目与根哈希属于本日志、随机密钥与计划的承诺一致、种子由此算出、企业名单与签名一致，重放得出签名的抽取结果。名单本身由日志推导（分类、线索、排除）的核验请用 creditlog verify-draw。", "Each draw is replayed in this page: the bundle's entries and root are the log's, the secret opens the plan's commitment, the seed follows from them, the population is the one signed, and re-running the draw gives the selection signed. That the population follows from the log (classes, triggers, exclusions) is checked by `creditlog verify-draw`.")),
    ];
  } catch (e) {
    return errorBox(e);
  }
}

// A drawn plan's replay status: its draw bundle fetched and the draw re-run in the page.
function replayCell(index) {
  const cell = h("span", { "data-testid": `draw-replay-${index}` }, T("重放中…", "replaying…"));
  (async () => {
    try {
      const bundle = await api("GET", `/v1/plans/${index}/bundle`, { signed: true });
      const r = await D.replayDraw(bundle, (await logKey()).key, keyBook());
      fill(cell, r.ok ? verdict(true, T(`重放一致（${r.selection.length} 家）`, `replayed: ${r.selection.length} firms, as signed`)) : verdict(false, r.message));
      cell.title = [...r.checks, r.ok ? "" : r.message].join("\n");
      cell.dataset.ok = String(r.ok);
    } catch (e) {
      fill(cell, errorBox(e));
      cell.dataset.ok = "false";
    }
  })();
  return h("span", {}, cell, " ", h("code", {}, `creditlog verify-draw --plan ${index}`));
}

async function sanctionsLookup() {
  const input = h("input", { class: "mono", placeholder: T("统一社会信用代码", "USCC") });
  const out = h("div");
  return [
    h("h2", {}, T("联合惩戒措施查询", "Sanctions of a firm (联合惩戒)")),
    h("form", { class: "search", onsubmit: async (ev) => (ev.preventDefault(), fill(out, await listPanel(`/v1/enterprises/${input.value.trim().toUpperCase()}/sanctions`, "sanctions", [[T("条目", "Entry"), (s) => `#${s.index}`], [T("措施", "Measure"), (s) => s.measure || s.sanction?.measure || ""], [T("期限", "Until"), (s) => s.until || s.sanction?.until || ""], [T("状态", "Status"), (s) => s.status || ""]]))) }, input, h("button", { type: "submit" }, T("查询", "Look up"))),
    out,
  ];
}

// ---------------------------------------------------------------- dashboards, authority, audit

async function dashboard() {
  if (!state.who) return signIn();
  const gradesEl = h("div", { class: "chart", "data-testid": "class-chart" });
  const supEl = h("div", { class: "chart", "data-testid": "supervision-chart" });
  const box = h("div");
  render(h("h1", {}, T("统计看板", "Dashboard")), box);
  const parts = [];
  try {
    const g = await api("GET", "/v1/stats/grades", { signed: true });
    parts.push(h("h2", {}, T("各模型分类分布", "Class distribution per model")));
    for (const m of g.models) {
      parts.push(h("p", { "data-testid": "class-counts" }, `${m.id}: ${m.classes.map((c) => `${c.class} ${c.name} ${c.firms}`).join("；")}（${T("共", "total")} ${m.firms}）`));
    }
    parts.push(gradesEl);
          chart(gradesEl, {
        tooltip: {},
        legend: { data: g.models.map((m) => m.id) },
        xAxis: { type: "category", data: (g.models[0]?.classes || []).map((c) => `${c.class} ${c.name}`) },
        yAxis: { type: "value" },
        series: g.models.map((m) => ({ name: m.id, type: "bar", data: m.classes.map((c) => c.firms), label: { show: true, position: "top" } })),
      });
    // Its change over time: the distribution at the end of each month in which a decision
    // changed a firm's class (the server's `history`, derived from the decisions on the log).
    for (const m of g.models.filter((x) => x.history?.length)) {
      const labels = m.classes.map((c) => c.class);
      const el = h("div", { class: "chart", "data-testid": "class-history-chart" });
      parts.push(h("h3", {}, T(`${m.id}：分类分布的变化（各月末）`, `${m.id}: class distribution over time (at each month's end)`)), el);
      parts.push(
        table(
          [T("月份", "Month"), ...m.classes.map((c) => `${c.class} ${c.name}`)],
          m.history.map((x) => h("tr", {}, h("td", {}, x.month), labels.map((c) => h("td", { class: "num" }, String(x.classes[c] ?? 0))))),
          { "data-testid": "class-history" },
        ),
      );
      chart(el, {
        tooltip: { trigger: "axis" },
        legend: { data: labels },
        xAxis: { type: "category", data: m.history.map((x) => x.month) },
        yAxis: { type: "value" },
        series: labels.map((c) => ({ name: c, type: "line", data: m.history.map((x) => x.classes[c] ?? 0) })),
      });
    }
  } catch (e) {
    parts.push(errorBox(e));
  }
  try {
    const s = await api("GET", "/v1/stats/supervision", { signed: true });
    parts.push(h("h2", {}, T(`抽查成效（${s.from} 至 ${s.to}）`, `Inspection effectiveness (${s.from} to ${s.to})`)));
    const rate = (a, b) => (b ? Math.round((1000 * a) / b) / 10 : 0);
    parts.push(
      table(
        [T("部门", "Department"), T("检查次数", "Inspections"), T("抽中检查", "Drawn"), T("抽中发现问题率 %", "Found when drawn %"), T("非抽中发现问题", "Found otherwise"), T("入企次数", "Visits"), T("联合检查", "Joint visits")],
        s.departments.map((d) => h("tr", {}, h("td", {}, d.department), h("td", { class: "num" }, String(d.inspections)), h("td", { class: "num" }, String(d.drawn)), h("td", { class: "num" }, String(rate(d.drawn_found, d.drawn))), h("td", { class: "num" }, String(d.undrawn_found)), h("td", { class: "num" }, String(d.visits)), h("td", { class: "num" }, String(d.joint_visits)))),
        { "data-testid": "supervision" },
      ),
      supEl,
    );
          chart(supEl, {
        tooltip: {},
        legend: {},
        xAxis: { type: "category", data: s.departments.map((d) => d.department) },
        yAxis: { type: "value" },
        series: [
          { name: T("检查次数", "inspections"), type: "bar", data: s.departments.map((d) => d.inspections) },
          { name: T("入企次数", "visits"), type: "bar", data: s.departments.map((d) => d.visits) },
        ],
      });
  } catch (e) {
    parts.push(errorBox(e));
  }
  fill(box, ...parts);
}

async function authority(tab) {
  if (state.who?.kind !== "grading_authority") return signIn();
  const t = tab || "overview";
  const body = h("div");
  render(h("h1", {}, state.who.label), tabs("authority", [["overview", T("逾期事项", "Overdue items")], ["regrade", T("重新分类", "Re-grade")]], t), body);
  if (t === "regrade") {
    const g = await api("GET", "/v1/stats/grades", { signed: true });
    const model = h("select", {}, g.models.map((m) => h("option", { value: m.model }, m.id)));
    const out = h("div");
    fill(body, 
      h("h2", {}, T("按模型重新分类全部企业", "Re-grade every firm under a model")),
      h("p", { class: "small" }, T("重新分类在服务器上作为任务运行，不阻塞信息归集；本页实时显示进度。每个分类决定都写入日志。", "The re-grade runs on the server as a job that does not stop intake; the page follows its progress. Every decision is logged.")),
      model,
      " ",
      h(
        "button",
        {
          "data-testid": "regrade-start",
          onclick: async () => {
            // The run is a job on the server: the page starts it, then follows its progress
            // (firms done of total, decisions appended, time left) until its summary is logged.
            try {
              const env = await C.signEnvelope(state.key, "application/vnd.creditlog.order+json", { type: "creditlog.regrade-order/v1", model: model.value, as_of: await today() });
              let st = await api("POST", "/v1/regrade", { body: env, signed: true });
              const bar = h("progress", { max: 1, value: 0, "data-testid": "regrade-progress" });
              const line = h("span");
              fill(out, bar, " ", line);
              while (st.state === "running") {
                bar.max = Math.max(st.total, 1);
                bar.value = st.done;
                fill(line, T(`任务 ${st.order}：已评估 ${st.done}/${st.total} 户，写入 ${st.changed} 个决定${st.eta_s != null ? `，预计还需 ${Math.ceil(st.eta_s)} 秒` : ""}`, `job ${st.order}: ${st.done}/${st.total} firms, ${st.changed} decisions${st.eta_s != null ? `, about ${Math.ceil(st.eta_s)} s left` : ""}`));
                await new Promise((r) => setTimeout(r, 300));
                st = await api("GET", `/v1/regrade/jobs/${st.order}`, { signed: true });
              }
              if (st.state !== "done") throw new Error(st.error || st.state);
              fill(
                out,
                h("p", { class: "okline" }, T(`完成：评估 ${st.summary.evaluated} 户，运行摘要写入第 ${st.summary_index} 条（用时 ${st.elapsed_s.toFixed(1)} 秒）`, `Done: ${st.summary.evaluated} firms evaluated; run summary logged as entry ${st.summary_index} (${st.elapsed_s.toFixed(1)} s)`)),
                h("pre", { "data-testid": "regrade-result" }, JSON.stringify(st.summary, null, 1)),
              );
            } catch (e) {
              fill(out, errorBox(e));
            }
          },
        },
        T("签名并开始", "Sign and start"),
      ),
      out,
    );
    return;
  }
  fill(body, 
    h("h2", {}, T("各部门逾期未办结的异议", "Overdue objections across departments")),
    await listPanel("/v1/objections?overdue=true", "objections", objectionColumns()),
    h("h2", {}, T("全部异议", "All objections")),
    await listPanel("/v1/objections", "objections", objectionColumns()),
  );
}

async function auditor(uscc, tab) {
  if (!state.who || !["auditor", "court"].includes(state.who.kind)) return signIn();
  const input = h("input", { class: "mono", placeholder: T("统一社会信用代码", "USCC"), value: uscc || "", "data-testid": "audit-uscc" });
  const body = h("div");
  render(
    h("h1", {}, T("审计与司法查询", "Audit and court look-up")),
    h("p", { class: "small" }, T("每次查阅均记入日志，企业可见。", "Every read is logged and shown to the firm.")),
    h("form", { class: "search", onsubmit: (ev) => (ev.preventDefault(), (location.hash = `#/auditor/${input.value.trim().toUpperCase()}/grades`)) }, input, h("button", { type: "submit" }, T("查询", "Look up"))),
    body,
  );
  if (!uscc) return;
  const t = tab || "grades";
  fill(body, 
    h("h2", {}, (await firmName(uscc)) || uscc),
    tabs(`auditor/${uscc}`, [["grades", T("分类结果", "Grades")], ["history", T("信用历史", "History")], ["bundle", T("证据包", "Bundle")]], t),
    ...[await (t === "history" ? historyPanel(uscc) : t === "bundle" ? bundleTab(uscc) : gradesPanel(uscc))].flat(),
  );
}

async function verifyBundlePage() {
  const lk = await logKey();
  const keyInput = h("input", { class: "mono wide", value: lk.key });
  const out = h("div", { "data-testid": "bundle-result" });
  const check = async (file) => {
    fill(out, T("核验中…", "Checking…"));
    try {
      const bundle = JSON.parse(await file.text());
      // Keys: the bundle's own identity entries would do for `creditlog verify`; the page asks the
      // server for published keys and checks each against its id.
      const r = await V.checkBundle(bundle, keyInput.value.trim(), keyBook());
      const bad = r.results.filter((x) => x.failed);
      fill(out, 
        bad.length ? verdict(false, T(`${bad.length} 条未通过：${bad[0].failed.message}`, `${bad.length} failed: ${bad[0].failed.message}`), { "data-testid": "bundle-verdict" }) : verdict(true, T(`证据包的 ${r.results.length} 条全部通过本页核验（检查点 ${r.checkpoint.size} 条）`, `all ${r.results.length} entries of the bundle pass this page's checks (checkpoint of ${r.checkpoint.size})`), { "data-testid": "bundle-verdict" }),
        h("p", { class: "small" }, T("完整核验（权限规则、分类结果重算）请用 creditlog verify。", "For the full check (authority rules, decision replay) run `creditlog verify`.")),
        // Nothing hidden at the end (完整性承诺, BUNDLE.md §3.4b): the VRF and map proofs are checked by the CLI.
        h("p", { class: "small", "data-testid": "bundle-completeness" }, bundle.completeness
          ? T(`本证据包带有完整性证明：日志第 ${bundle.completeness.map_index} 条的链头承诺载明本企业的条目数与最新一条；历史末尾有无条目被隐去，由 creditlog verify 核验（VRF 证明与链头地图证明）。`, `This bundle carries a completeness proof: the map of chain heads at entry ${bundle.completeness.map_index} states how many entries the firm has and which is the newest; \`creditlog verify\` checks that none was left out at the end (VRF proof and map proof).`)
          : T("本证据包不带完整性证明，可能只是节选：creditlog verify 不会把它当作完整历史接受（节选须加 --partial）。", "This bundle carries no completeness proof and may be an excerpt: `creditlog verify` does not accept it as a whole history (an excerpt needs --partial).")),
        h("ol", {}, bad.map((x) => h("li", {}, x.failed.message))),
      );
    } catch (e) {
      fill(out, errorBox(e));
    }
  };
  const file = h("input", { type: "file", accept: ".json", "data-testid": "bundle-file", onchange: () => file.files[0] && check(file.files[0]) });
  const drop = h(
    "div",
    {
      class: "drop",
      "data-testid": "bundle-drop",
      ondragover: (ev) => ev.preventDefault(),
      ondrop: (ev) => {
        ev.preventDefault();
        if (ev.dataTransfer.files[0]) check(ev.dataTransfer.files[0]);
      },
    },
    T("把证据包文件拖到这里，或选择文件：", "Drop an evidence bundle here, or choose the file: "),
    file,
  );
  render(h("h1", {}, T("核验证据包", "Verify an evidence bundle")), h("label", {}, T("日志密钥", "Log key"), " ", keyInput), drop, out);
}

async function entryPage(index) {
  try {
    const e = await api("GET", `/v1/entries/${index}`, { signed: !!state.key });
    render(h("h1", {}, T(`日志条目 #${index}`, `Log entry #${index}`)), h("pre", {}, JSON.stringify(e, null, 1)));
  } catch (e) {
    render(errorBox(e));
  }
}

// ---------------------------------------------------------------- router

async function route() {
  renderChrome();
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const [page, a, b] = parts;
  try {
    if (!page) await publicSearch();
    else if (page === "firm") await publicFirm(a);
    else if (page === "log") await logState();
    else if (page === "signin") await signIn();
    else if (page === "enterprise") await enterprise(a);
    else if (page === "department") await department(a);
    else if (page === "authority") await authority(a);
    else if (page === "dashboard") await dashboard();
    else if (page === "auditor") await auditor(a, b);
    else if (page === "verify") await verifyBundlePage();
    else if (page === "entry") await entryPage(a);
    else render(h("p", {}, T("没有这个页面。", "No such page.")));
  } catch (e) {
    render(errorBox(e));
  }
  document.body.dataset.ready = location.hash;
}

setLang(getLang());
window.addEventListener("hashchange", route);
route();
