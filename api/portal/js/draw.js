// creditlog portal: a draw (双随机) replayed in the page from its draw bundle, as
// `creditlog verify-draw` does (docs/DRAW.md): the bundle's entries and the plan's root are the
// log's, the revealed secret opens the plan's commitment, the seed is computed from the plan's
// leaf, that root and the secret, the population is the one the draw signed, and re-running the
// draw gives the firms and inspectors the draw signed. The population's derivation from the log
// (classes, triggers, exclusions) is `creditlog verify-draw`'s; the page says so.

import { T } from "./i18n.js";
import { utf8, unb64, hex, concat, sha256 } from "./crypto.js";
import { checkBundle, verifyConsistency, CheckError, fail, tag } from "./verify.js";

// SHA-256 of the domain tag `creditlog/v1/<name>\0` and the parts (docs/DRAW.md §2, §4).
const tagged = (name, ...parts) => sha256(concat(tag(name), ...parts));

const unhex = (s, what) => {
  if (typeof s !== "string" || !/^[0-9a-f]{64}$/.test(s)) fail("format", T(`${what} 不是 64 位十六进制`, `${what} is not 64 hex digits`));
  return Uint8Array.from(s.match(/../g), (x) => parseInt(x, 16));
};

// Byte order of UTF-8 strings (the canonical order of docs/DRAW.md).
function byBytes(a, b) {
  const x = utf8(a);
  const y = utf8(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

// The random stream (docs/DRAW.md §2): block i is SHA-256(seed || u64be(i)), four big-endian u64s.
class Stream {
  constructor(seed) {
    this.seed = seed;
    this.block = 0n;
    this.words = [];
  }

  async next() {
    if (!this.words.length) {
      const counter = new Uint8Array(8);
      new DataView(counter.buffer).setBigUint64(0, this.block);
      const out = new DataView((await sha256(concat(this.seed, counter))).buffer);
      this.words = [0, 8, 16, 24].map((o) => out.getBigUint64(o));
      this.block += 1n;
    }
    return this.words.shift();
  }

  // Uniform in 0..n by rejection of the words at or above the largest multiple of n.
  async below(n) {
    const N = BigInt(n);
    const max = (1n << 64n) - 1n;
    const limit = max - ((max % N) + 1n) % N;
    for (;;) {
      const w = await this.next();
      if (w <= limit) return Number(w % N);
    }
  }
}

async function fisherYates(stream, pool, k) {
  for (let i = 0; i < Math.min(k, pool.length); i++) {
    const j = i + (await stream.below(pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
}

const share = (n, perMille) => Math.floor((n * perMille + 500) / 1000);

// docs/DRAW.md §3, step for step as verifier/src/draw.rs.
export async function draw(seed, rules, population, inspectors) {
  const order = population.map((_, i) => i).sort((a, b) => byBytes(population[a].uscc, population[b].uscc));
  for (let i = 1; i < order.length; i++) {
    if (population[order[i]].uscc === population[order[i - 1]].uscc) fail("selection", T(`企业 ${population[order[i]].uscc} 在名单中出现两次`, `firm ${population[order[i]].uscc} is listed twice`));
  }
  const pools = rules.classes.map(() => []);
  for (const i of order) {
    const f = population[i];
    if (f.excluded) continue;
    const c = rules.classes.findIndex((r) => r.class === f.class);
    if (c >= 0 && (f.trigger !== undefined && f.trigger !== null || !rules.classes[c].needs_trigger)) pools[c].push(i);
  }
  const stream = new Stream(seed);
  const drawn = [];
  let highLeft = [];
  let highDrawn = 0;
  for (const [c, rule] of rules.classes.entries()) {
    const pool = pools[c];
    const k = share(pool.length, rule.per_mille);
    await fisherYates(stream, pool, k);
    drawn.push(...pool.slice(0, k));
    if (rule.high_risk) {
      highDrawn += k;
      highLeft.push(...pool.slice(k));
    }
  }
  const m = Math.min(rules.min_high_risk_per_mille, 1000);
  const total = drawn.length;
  if (highDrawn * 1000 < m * total) {
    const needed = m === 1000 ? highLeft.length : Math.ceil((m * total - highDrawn * 1000) / (1000 - m));
    highLeft = highLeft.sort((a, b) => byBytes(population[a].uscc, population[b].uscc));
    const x = Math.min(needed, highLeft.length);
    await fisherYates(stream, highLeft, x);
    drawn.push(...highLeft.slice(0, x));
  }
  const pool = [...inspectors].sort((a, b) => byBytes(a.id, b.id));
  const out = [];
  for (const i of drawn) {
    const firm = population[i];
    const free = pool.map((_, j) => j).filter((j) => !(pool[j].conflicts || []).includes(firm.uscc));
    const need = rules.inspectors_per_firm;
    if (free.length < need) fail("selection", T(`企业 ${firm.uscc} 可派的无回避执法人员不足`, `too few inspectors free of conflicts for ${firm.uscc}`));
    await fisherYates(stream, free, need);
    out.push({ uscc: firm.uscc, class: firm.class, inspectors: free.slice(0, need).map((j) => pool[j].id) });
  }
  return out;
}

// docs/DRAW.md §4: the population's and the selection's digests.
export async function populationDigest(members) {
  const lines = [...members].sort((a, b) => byBytes(a.uscc, b.uscc)).map((m) => {
    const opt = (v) => (v === undefined || v === null ? "-" : String(v));
    const ex = m.excluded ? `${m.excluded.reason}:${m.excluded.index}` : "-";
    return `${m.uscc}\t${m.class}\t${opt(m.decision)}\t${opt(m.trigger)}\t${ex}\n`;
  });
  return { firms: members.length, digest: hex(await tagged("draw-population", utf8(lines.join("")))) };
}

export async function selectionDigest(selection) {
  const lines = selection.map((s) => `${s.uscc}\t${s.class}\t${s.inspectors.join(",")}\n`).join("");
  return { firms: selection.length, digest: hex(await tagged("draw-selection", utf8(lines))) };
}

// Replays a draw bundle (`GET /v1/plans/{index}/bundle`). Returns {ok, checks: [sentence],
// selection} or {ok: false, check, message} naming what failed.
export async function replayDraw(bundle, vkey, keys) {
  const checks = [];
  try {
    if (bundle.type !== "creditlog.draw-bundle/v1") fail("format", T("不是抽取核验包", "not a draw bundle"));
    const { checkpoint, results } = await checkBundle(bundle.evidence, vkey, keys);
    const bad = results.find((r) => r.failed);
    if (bad) fail(bad.failed.check, bad.failed.message);
    checks.push(T(`核验包的 ${results.length} 条均在已签名的日志中（共 ${checkpoint.size} 条），内容与签名无误`, `the bundle's ${results.length} entries are in the signed log of ${checkpoint.size}, with their contents and signatures intact`));
    const entry = (i) => results.find((r) => r.index === i) || fail("format", T(`核验包缺少第 ${i} 条`, `the bundle lacks entry ${i}`));
    const planEntry = entry(bundle.plan_index);
    const drawEntry = entry(bundle.draw_index);
    const plan = planEntry.payload;
    const d = drawEntry.payload;
    if (plan?.type !== "creditlog.plan/v1" || d?.type !== "creditlog.draw/v1") fail("format", T("核验包中的计划或抽取条目类型不对", "the bundle's plan or draw entry is not a plan or a draw"));
    if (d.plan_index !== bundle.plan_index || d.department !== plan.department || bundle.draw_index <= bundle.plan_index) {
      fail("draw-plan", T(`第 ${bundle.draw_index} 条不是第 ${bundle.plan_index} 条计划之后由同一部门所作的抽取`, `entry ${bundle.draw_index} is not a draw of plan ${bundle.plan_index} made after it by the same department`));
    }
    // The root at the plan: shown to be the log's by a consistency proof to the checkpoint.
    const at = bundle.plan_index + 1;
    const r = (bundle.evidence.roots || []).find((x) => x.size === at) || fail("consistency", T(`核验包缺少日志在第 ${bundle.plan_index} 条时的根哈希`, `the bundle lacks the log's root at plan ${bundle.plan_index}`));
    const root = unb64(r.root);
    if (!(await verifyConsistency(at, checkpoint.size, root, checkpoint.root, r.proof.map(unb64)))) {
      fail("consistency", T(`给出的 ${at} 条时的根哈希不是本日志的`, `the root given for tree size ${at} is not the log's root at that size`));
    }
    if (d.root !== hex(root) || d.plan_leaf !== hex(planEntry.leaf)) fail("draw-seed", T("抽取所用的计划叶哈希或根哈希与日志不符", "the draw's plan leaf or root is not the log's"));
    const secret = unhex(d.secret, "secret");
    if (hex(await tagged("draw-secret", secret)) !== plan.secret_commitment) fail("draw-seed", T("公开的随机密钥与计划事先的承诺不符", "the revealed secret does not open the plan's commitment"));
    const seed = await tagged("draw-seed", unhex(d.plan_leaf, "plan_leaf"), root, secret);
    if (hex(seed) !== d.seed) fail("draw-seed", T("随机种子不是由计划叶哈希、根哈希和密钥算出的", "the seed is not computed from the plan's leaf, the root and the secret"));
    checks.push(T(`随机种子由计划（第 ${bundle.plan_index} 条）、其时的日志根哈希与事先承诺的密钥算出：计划确定时无人能选定它`, `the seed comes from the plan (entry ${bundle.plan_index}), the log's root then and the secret committed to beforehand: nobody could choose it when the plan was fixed`));
    const pop = await populationDigest(bundle.population);
    if (pop.digest !== d.population.digest || pop.firms !== d.population.firms) {
      fail("draw-population", T(`显示的 ${pop.firms} 家企业名单不是抽取时签名的名单（${d.population.firms} 家）`, `the population shown (${pop.firms} firms) is not the one the draw signed (${d.population.firms} firms)`));
    }
    checks.push(T(`${pop.firms} 家企业的名单与抽取签名的一致`, `the population of ${pop.firms} firms is the one the draw signed`));
    const selection = await draw(seed, plan.rules, bundle.population, plan.inspectors);
    const sel = await selectionDigest(selection);
    if (sel.digest !== d.selection.digest || sel.firms !== d.selection.firms) {
      fail("draw-selection", T(`本页重放抽出 ${sel.firms} 家，与签名的抽取结果（${d.selection.firms} 家）不符`, `replayed in this page the draw gives ${sel.firms} firms, not the ${d.selection.firms} the draw signed`));
    }
    checks.push(T(`在本页重放抽取，得出与签名一致的 ${sel.firms} 家企业及执法人员`, `replayed in this page, the draw gives the same ${sel.firms} firms and inspectors it signed`));
    return { ok: true, checks, selection };
  } catch (e) {
    if (!(e instanceof CheckError)) return { ok: false, checks, check: "format", message: T(`核验包无法读取：${e.message}`, `the bundle cannot be read: ${e.message}`) };
    return { ok: false, checks, check: e.check, message: e.message };
  }
}
