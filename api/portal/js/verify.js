// creditlog portal: checks made in the page, each explainable in one sentence. They cover the
// cryptography of FORMAT.md §1-§3: the checkpoint's signature by the log key, each entry's
// inclusion proof, its three commitments, its author's signature and the firm's chain. The
// authority rules, the key book over time and decision replay are `creditlog verify`'s
// (BUNDLE.md §3); the page says so next to its own result.

import { T } from "./i18n.js";
import { b64, unb64, utf8, concat, u32be, sha256, equal, keyId, verifyEd25519, verifyEnvelope, fromUtf8 } from "./crypto.js";

// A check that failed: `check` is its short name, `message` the plain sentence.
export class CheckError extends Error {
  constructor(check, message) {
    super(message);
    this.check = check;
  }
}

export const fail = (check, message) => {
  throw new CheckError(check, message);
};

// C2SP signed-note verifier key: <name>+<8 hex key hash>+base64(0x01 || 32-byte key).
export async function parseVerifierKey(vkey) {
  // The name holds no "+"; the base64 key may.
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey.trim());
  if (!m) fail("log-key", T("日志密钥格式不对（应为 名称+哈希+密钥）", "the log key is not a signed-note verifier key (name+hash+key)"));
  const [, name, hashHex, keyB64] = m;
  const raw = unb64(keyB64);
  if (raw.length !== 33 || raw[0] !== 1) fail("log-key", T("日志密钥不是 Ed25519 密钥", "the log key is not an Ed25519 signed-note key"));
  const pub = raw.subarray(1);
  const hash = (await sha256(concat(utf8(name + "\n"), new Uint8Array([1]), pub))).subarray(0, 4);
  if (Array.from(hash, (x) => x.toString(16).padStart(2, "0")).join("") !== hashHex) {
    fail("log-key", T("日志密钥的哈希与名称、密钥不符", "the log key's hash does not match its name and key"));
  }
  return { name, hash, pub };
}

// Opens a C2SP checkpoint (signed note) with the log's verifier key: {origin, size, root, text}.
export async function openCheckpoint(note, vkey) {
  const key = await parseVerifierKey(vkey);
  const split = note.indexOf("\n\n");
  if (split < 0) fail("checkpoint", T("检查点没有签名", "the checkpoint has no signature block"));
  const text = note.slice(0, split + 1);
  const lines = text.split("\n");
  if (lines.length < 4) fail("checkpoint", T("检查点应有日志名称、条目数和根哈希", "the checkpoint must have an origin, a size and a root hash"));
  const [origin, sizeStr, rootB64] = lines;
  if (origin !== key.name) fail("checkpoint", T(`检查点属于日志“${origin}”，不是本页信任的日志“${key.name}”`, `the checkpoint is for log "${origin}", not for the trusted log "${key.name}"`));
  if (!/^(0|[1-9][0-9]*)$/.test(sizeStr)) fail("checkpoint", T("检查点的条目数不是数字", "the checkpoint's tree size is not a number"));
  const root = unb64(rootB64);
  if (root.length !== 32) fail("checkpoint", T("检查点的根哈希不是 32 字节", "the checkpoint's root hash is not 32 bytes"));
  let signed = false;
  for (const line of note.slice(split + 2).split("\n")) {
    if (!line) continue;
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) fail("checkpoint", T("检查点的签名行格式不对", "a signature line of the checkpoint is malformed"));
    if (m[1] !== key.name) continue; // a witness cosignature: counted by `creditlog verify --policy`
    const sig = unb64(m[2]);
    if (sig.length !== 68 || !equal(sig.subarray(0, 4), key.hash)) continue;
    if (await verifyEd25519(key.pub, sig.subarray(4), utf8(text))) signed = true;
  }
  if (!signed) fail("checkpoint", T("检查点不是由本日志的密钥签名的", "the checkpoint is not signed by the log's key"));
  return { origin, size: Number(sizeStr), root, text };
}

export const leafHash = (entry) => sha256(concat(new Uint8Array([0]), entry));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

// RFC 9162 §2.1.3.2: recompute the root from a leaf hash, its index and the audit path.
export async function rootFromInclusion(index, size, leaf, proof) {
  if (index >= size) fail("inclusion", T(`第 ${index} 条超出检查点的 ${size} 条`, `entry ${index} is beyond the checkpoint's tree size ${size}`));
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) fail("inclusion", T(`第 ${index} 条的收录证明过长`, `the inclusion proof of entry ${index} is too long`));
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail("inclusion", T(`第 ${index} 条的收录证明过短`, `the inclusion proof of entry ${index} is too short`));
  return r;
}

// RFC 9162 §2.1.4.2: whether `proof` shows the tree of `first` leaves (root `firstRoot`) to be a
// prefix of the tree of `second` leaves (root `secondRoot`).
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (first > second || first === 0) return false;
  if (first === second) return proof.length === 0 && equal(firstRoot, secondRoot);
  let path = proof;
  let p2 = first;
  while (p2 % 2 === 0) p2 /= 2;
  if (p2 === 1) path = [firstRoot, ...proof]; // `first` is a power of two
  if (path.length === 0) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, firstRoot) && equal(sr, secondRoot);
}

export const tag = (s) => utf8(`creditlog/v1/${s}\0`);

// FORMAT.md §3: the subject, content and chain commitments.
export async function commitments(content) {
  const env = content.envelope;
  const out = {};
  const sig = env.signatures[0];
  const pt = utf8(env.payloadType);
  const payload = unb64(env.payload);
  const kid = utf8(sig.keyid);
  out.content = await sha256(
    concat(tag("content"), unb64(content.salts.content), u32be(pt.length), pt, u32be(payload.length), payload, u32be(kid.length), kid, unb64(sig.sig)),
  );
  if (content.subject !== undefined) {
    const uscc = utf8(content.subject);
    out.subject = await sha256(concat(tag("subject"), unb64(content.salts.subject), uscc));
    if (content.salts.chain !== undefined) {
      const prev = content.previous_leaf ? unb64(content.previous_leaf) : new Uint8Array(32);
      out.chain = await sha256(concat(tag("chain"), unb64(content.salts.chain), uscc, prev));
    }
  }
  return out;
}

// Key ids to public keys, each checked against its id (an id is a hash of its key, so the
// server cannot answer with another key).
export class KeyBook {
  constructor(fetchKey) {
    this.fetchKey = fetchKey;
    this.keys = new Map();
  }
  // An enterprise's key is not published: it is learned from the binding (or rotation) entry in
  // the firm's own chain, after that entry's own checks passed.
  async learn(pub, holder) {
    const id = await keyId(pub);
    if (!this.keys.has(id)) this.keys.set(id, Promise.resolve({ pub, info: { key_id: id, holder } }));
  }
  async get(id) {
    if (!this.keys.has(id)) {
      this.keys.set(
        id,
        (async () => {
          const info = await this.fetchKey(id);
          const pub = unb64(info.public_key);
          if ((await keyId(pub)) !== id) fail("key", T(`服务器给出的密钥与编号 ${id} 不符`, `the server answered key ${id} with a key whose id is not ${id}`));
          return { pub, info };
        })(),
      );
    }
    return this.keys.get(id);
  }
}

// Checks one entry of a history (or bundle): every check that can be made from the entry, its
// proof and the checkpoint. Returns {index, header, payload, checks: [{check, ok, message}]}.
// `publicOpening`: a public record's opening (disclosure) carries no chain salt, so the chain
// commitment is not checked; every other check is.
export async function checkEntry(entry, cp, keys, expectedSubject, publicOpening = false) {
  const checks = [];
  const step = async (check, ok, message) => {
    checks.push({ check, ok, message });
    if (!ok) throw new CheckError(check, message);
  };
  const result = { index: entry.index, checks };
  try {
    const headerBytes = unb64(entry.header);
    const leaf = await leafHash(headerBytes);
    result.leaf = leaf;
    const proof = (entry.proof || []).map(unb64);
    const root = await rootFromInclusion(entry.index, cp.size, leaf, proof);
    await step("inclusion", equal(root, cp.root), equal(root, cp.root)
      ? T(`第 ${entry.index} 条在已签名的日志中（共 ${cp.size} 条）`, `entry ${entry.index} is in the signed log of ${cp.size} entries`)
      : T(`第 ${entry.index} 条与日志不符：其收录证明得出另一个根哈希`, `entry ${entry.index} as shown is not in the signed log: its inclusion proof leads to another root`));
    let header;
    try {
      header = JSON.parse(fromUtf8(headerBytes));
    } catch {
      fail("format", T(`第 ${entry.index} 条的条目头不是 JSON`, `entry ${entry.index}'s header is not JSON`));
    }
    result.header = header;
    const content = entry.content;
    if (!content || !content.envelope) {
      // Deleted under a retention rule (FORMAT.md §14), or not the reader's to see: the header
      // and its place in the log are checked, the content cannot be.
      result.redacted = true;
      checks.push({ check: "content", ok: null, message: T(`第 ${entry.index} 条内容未显示（已依规删除，或无权查看）；已核验其在日志中的位置`, `entry ${entry.index}'s content is not shown (deleted under a retention rule, or not yours to read); its place in the log is checked`) });
      return result;
    }
    const c = await commitments(content);
    const same = (name) => header[name] !== undefined && equal(unb64(header[name]), c[name]);
    await step("commitment", same("content"), same("content")
      ? T(`第 ${entry.index} 条内容与写入日志时完全一致`, `entry ${entry.index}'s content is exactly what was logged`)
      : T(`第 ${entry.index} 条内容在写入日志后被改动：与日志中的内容承诺不符`, `entry ${entry.index}'s content was changed after it was logged: it does not open the logged content commitment`));
    if (content.subject !== undefined) {
      await step("subject", same("subject") && (!expectedSubject || content.subject === expectedSubject), same("subject")
        ? T(`第 ${entry.index} 条涉及企业 ${content.subject}`, `entry ${entry.index} is about ${content.subject}`)
        : T(`第 ${entry.index} 条与日志中的企业承诺不符`, `entry ${entry.index} does not open its subject commitment`));
      if (!publicOpening) await step("chain", same("chain"), same("chain")
        ? T(`第 ${entry.index} 条指明了本企业的上一条`, `entry ${entry.index} names the entry before it about this firm`)
        : T(`第 ${entry.index} 条与上一条的链接被改动`, `entry ${entry.index}'s link to the previous entry was changed`));
    }
    const sig = content.envelope.signatures[0];
    await step("author", sig.keyid === header.author, sig.keyid === header.author
      ? T(`第 ${entry.index} 条由日志所载的密钥签名`, `entry ${entry.index} is signed by the key the log names`)
      : T(`第 ${entry.index} 条由密钥 ${sig.keyid} 签名，但日志记载的是 ${header.author}`, `entry ${entry.index} is signed by key ${sig.keyid}, but the log names ${header.author}`));
    const key = await keys.get(sig.keyid);
    const ok = await verifyEnvelope(content.envelope, key.pub);
    result.author = key.info;
    await step("signature", ok, ok
      ? T(`第 ${entry.index} 条由 ${key.info.holder} 签名`, `entry ${entry.index} is signed by ${key.info.holder}`)
      : T(`第 ${entry.index} 条的签名与 ${key.info.holder} 的密钥不符`, `entry ${entry.index}'s signature does not verify with the key of ${key.info.holder}`));
    // JSON payloads are read for display; a model is TOML (its hash is what decisions cite).
    const text = fromUtf8(unb64(content.envelope.payload));
    result.payload = content.envelope.payloadType.endsWith("+json") ? JSON.parse(text) : { type: content.envelope.payloadType };
    const p = result.payload;
    if (content.subject && (p.action === "bind_enterprise_key" || p.action === "rotate_key") && p.key) {
      await keys.learn(unb64(p.key), `enterprise ${content.subject}`);
    }
    result.previous = content.previous_leaf;
    result.subject = content.subject;
  } catch (e) {
    if (!(e instanceof CheckError)) {
      checks.push({ check: "format", ok: false, message: T(`第 ${entry.index} 条无法读取：${e.message}`, `entry ${entry.index} cannot be read: ${e.message}`) });
    } else if (!checks.length || checks[checks.length - 1].ok) {
      checks.push({ check: e.check, ok: false, message: e.message });
    }
    result.failed = checks[checks.length - 1];
  }
  return result;
}

// The firm's chain: each entry's previous_leaf is the leaf hash of the entry before it about the
// firm; a gap means an entry was left out (FORMAT.md §4, "Detecting a hidden entry").
export function checkChain(results) {
  let prev = null;
  let prevIndex = null;
  for (const r of results) {
    if (r.failed || r.redacted || r.subject === undefined) {
      if (r.leaf) {
        prev = r.leaf;
        prevIndex = r.index;
      }
      continue;
    }
    const expected = prev ? b64(prev) : undefined;
    if (r.previous !== expected) {
      const message = prev
        ? T(`第 ${r.index} 条之前有未显示的条目：本企业在它之前的条目不是第 ${prevIndex} 条；第 ${prevIndex} 条与第 ${r.index} 条之间有条目被隐去`, `entry ${r.index} follows an entry that is not shown: the entry before it about this firm is not entry ${prevIndex}; an entry was left out between ${prevIndex} and ${r.index}`)
        : T(`第 ${r.index} 条之前有未显示的本企业条目：第 ${r.index} 条之前有条目被隐去`, `entry ${r.index} follows an earlier entry about this firm that is not shown: an entry was left out before ${r.index}`);
      r.checks.push({ check: "chain-complete", ok: false, message });
      r.failed = r.checks[r.checks.length - 1];
    } else {
      r.checks.push({ check: "chain-complete", ok: true, message: T(`第 ${r.index} 条之前没有缺失的条目`, `no entry is missing before entry ${r.index}`) });
    }
    prev = r.leaf;
    prevIndex = r.index;
  }
  return results;
}

// A whole history or bundle, as pages each proved against its own checkpoint: open each page's
// checkpoint, check its entries against it, then the chain across all pages.
export async function checkPages(pages, vkey, keys, subject) {
  const results = [];
  let cp;
  for (const page of pages) {
    cp = await openCheckpoint(page.checkpoint, vkey);
    for (const e of page.entries) results.push(await checkEntry(e, cp, keys, subject));
  }
  // Only the entries about the firm form its chain (a bundle also carries identity entries).
  checkChain(results.filter((r) => r.subject !== undefined || r.failed || r.redacted));
  return { checkpoint: cp, results };
}

export const checkHistory = (doc, vkey, keys, subject) => checkPages([doc], vkey, keys, subject);

// C2SP tlog-proof (used in bundles): "c2sp.org/tlog-proof@v1\nindex N\n<hashes>\n\n<checkpoint>".
export function parseTlogProof(text) {
  const lines = text.split("\n");
  if (lines[0] !== "c2sp.org/tlog-proof@v1") fail("proof", T("条目的证明不是 C2SP tlog-proof", "the entry's proof is not a C2SP tlog-proof"));
  const m = /^index (0|[1-9][0-9]*)$/.exec(lines[1] || "");
  if (!m) fail("proof", T("tlog-proof 缺少 index 行", "the tlog-proof has no index line"));
  const hashes = [];
  let i = 2;
  for (; i < lines.length && lines[i] !== ""; i++) hashes.push(lines[i]);
  return { index: Number(m[1]), proof: hashes, checkpoint: lines.slice(i + 1).join("\n") };
}

// An evidence bundle dropped on the page (BUNDLE.md §1): the same checks as a history, with each
// entry's tlog-proof bound to the bundle's checkpoint.
export async function checkBundle(bundle, vkey, keys) {
  if (bundle.type !== "creditlog.bundle/v1") fail("format", T('文件不是证据包（type 应为 "creditlog.bundle/v1"）', 'the file is not an evidence bundle (type must be "creditlog.bundle/v1")'));
  const entries = bundle.entries.map((e) => {
    const p = parseTlogProof(e.proof);
    if (p.index !== e.index) fail("proof", T(`第 ${e.index} 条的证明属于第 ${p.index} 条`, `entry ${e.index}'s proof is for entry ${p.index}`));
    if (p.checkpoint !== bundle.checkpoint) fail("proof", T(`第 ${e.index} 条的证明所依据的检查点与证据包的不同`, `entry ${e.index}'s proof is against another checkpoint than the bundle's`));
    return { index: e.index, header: e.header, content: e.content, redacted: e.redacted, proof: p.proof };
  });
  return checkHistory({ checkpoint: bundle.checkpoint, entries }, vkey, keys, bundle.subject);
}
