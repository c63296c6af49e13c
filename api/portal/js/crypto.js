// creditlog portal: the cryptography the page does itself, with the browser's WebCrypto
// (Ed25519, SHA-256). Nothing here trusts the server: every check recomputes from bytes.
// Formats: docs/FORMAT.md (§1 log, §2 envelopes, §3 commitments, §7 request signatures).

const subtle = globalThis.crypto.subtle;
const enc = new TextEncoder();

export const utf8 = (s) => enc.encode(s);
export const fromUtf8 = (b) => new TextDecoder("utf-8", { fatal: true }).decode(b);

export function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function unb64(s) {
  if (typeof s !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new Error("not standard base64 with padding");
  }
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const u32be = (n) => new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

export function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

// Key id (FORMAT.md §2): first 16 bytes of SHA-256("creditlog/v1/key\0" || public key), hex.
export async function keyId(publicKey) {
  return hex((await sha256(concat(utf8("creditlog/v1/key\0"), publicKey))).subarray(0, 16));
}

// PKCS #8 wrapping of a 32-byte Ed25519 seed (RFC 8410), the only form WebCrypto imports.
const PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

// Reads a creditlog key file ({"type":"creditlog.key/v1", key_id, public_key, private_key}) and
// imports the private key as non-extractable: after this, no script can read it back.
export async function importKeyFile(text) {
  let f;
  try {
    f = JSON.parse(text);
  } catch {
    throw new Error("the file is not a creditlog key file (not JSON)");
  }
  if (f.type !== "creditlog.key/v1" || !f.private_key || !f.public_key) {
    throw new Error('the file is not a creditlog key file (type must be "creditlog.key/v1")');
  }
  const seed = unb64(f.private_key);
  const pub = unb64(f.public_key);
  if (seed.length !== 32 || pub.length !== 32) throw new Error("the key file's keys must be 32 bytes each");
  const privateKey = await subtle.importKey("pkcs8", concat(PKCS8_PREFIX, seed), { name: "Ed25519" }, false, ["sign"]);
  seed.fill(0);
  const id = await keyId(pub);
  if (f.key_id && f.key_id !== id) throw new Error(`the key file's key_id ${f.key_id} is not the id of its public key (${id})`);
  // Prove the private key belongs to the public key before using it.
  const probe = utf8("creditlog portal key check");
  const sig = await sign(privateKey, probe);
  if (!(await verifyEd25519(pub, sig, probe))) throw new Error("the key file's private key does not match its public key");
  return { keyId: id, publicKey: pub, privateKey };
}

export async function sign(privateKey, message) {
  return new Uint8Array(await subtle.sign({ name: "Ed25519" }, privateKey, message));
}

export async function verifyEd25519(publicKey, signature, message) {
  try {
    const k = await subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return await subtle.verify({ name: "Ed25519" }, k, signature, message);
  } catch {
    return false;
  }
}

function nonce() {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return hex(b);
}

// RFC 9421 request signature with RFC 9530 Content-Digest, exactly as api/src/auth.rs checks it.
export async function signRequest(key, method, pathAndQuery, body) {
  const q = pathAndQuery.indexOf("?");
  const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const query = q < 0 ? "" : pathAndQuery.slice(q + 1);
  const created = Math.floor(Date.now() / 1000);
  const digest = body === undefined ? null : `sha-256=:${b64(await sha256(body))}:`;
  const components = digest ? '("@method" "@path" "@query" "content-digest")' : '("@method" "@path" "@query")';
  const params = `${components};created=${created};nonce="${nonce()}";keyid="${key.keyId}";alg="ed25519"`;
  let base = `"@method": ${method}\n"@path": ${path}\n"@query": ?${query}\n`;
  if (digest) base += `"content-digest": ${digest}\n`;
  base += `"@signature-params": ${params}`;
  const sig = await sign(key.privateKey, utf8(base));
  const headers = { "Signature-Input": `sig1=${params}`, Signature: `sig1=:${b64(sig)}:` };
  if (digest) headers["Content-Digest"] = digest;
  return headers;
}

// DSSE envelope (FORMAT.md §2) over the exact payload bytes.
export function signEnvelope(key, payloadType, payloadObject) {
  return signEnvelopeBytes(key, payloadType, utf8(JSON.stringify(payloadObject)));
}

export async function signEnvelopeBytes(key, payloadType, payload) {
  const t = utf8(payloadType);
  const pae = concat(utf8(`DSSEv1 ${t.length} `), t, utf8(` ${payload.length} `), payload);
  const sig = await sign(key.privateKey, pae);
  return { payloadType, payload: b64(payload), signatures: [{ keyid: key.keyId, sig: b64(sig) }] };
}

export async function verifyEnvelope(envelope, publicKey) {
  const payload = unb64(envelope.payload);
  const t = utf8(envelope.payloadType);
  const pae = concat(utf8(`DSSEv1 ${t.length} `), t, utf8(` ${payload.length} `), payload);
  return verifyEd25519(publicKey, unb64(envelope.signatures[0].sig), pae);
}
