// OpenSSH key formats for keys made in the browser with WebCrypto: the public key line
// (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4) and the unencrypted private key file
// ("openssh-key-v1", OpenSSH PROTOCOL.key, cipher "none"). The key material comes from
// WebCrypto's JWK export and never leaves the page except in the file the user downloads.

const enc = new TextEncoder();

export function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

export function unb64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function unb64url(text) {
  return unb64(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
}

// SSH wire encoding (RFC 4251 §5): uint32, string, mpint.
class Writer {
  constructor() { this.parts = []; }
  u32(n) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n); this.parts.push(b); return this; }
  bytes(b) { this.parts.push(b); return this; }
  string(v) { const b = typeof v === "string" ? enc.encode(v) : v; return this.u32(b.length).bytes(b); }
  mpint(b) { // unsigned big-endian magnitude -> mpint
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    let m = b.subarray(i);
    if (m.length && m[0] & 0x80) { const p = new Uint8Array(m.length + 1); p.set(m, 1); m = p; }
    return this.string(m);
  }
  done() {
    const n = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

// Makes a key pair: Ed25519 when WebCrypto has it, else ECDSA P-256. Returns
// {type: "ed25519" | "ecdsa", publicLine, privateFile} (strings, the comment appended).
export async function sshKeyGenerate(comment, prefer = "ed25519") {
  if (prefer === "ed25519") {
    try {
      const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
      const jwk = await crypto.subtle.exportKey("jwk", kp.privateKey);
      return ed25519Files(unb64url(jwk.x), unb64url(jwk.d), comment);
    } catch (e) {
      if (!(e instanceof DOMException) || e.name !== "NotSupportedError") throw e;
    }
  }
  const kp = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", kp.privateKey);
  return ecdsaFiles(unb64url(jwk.x), unb64url(jwk.y), unb64url(jwk.d), comment);
}

function ed25519Files(pub, seed, comment) {
  const type = "ssh-ed25519";
  const blob = new Writer().string(type).string(pub).done();
  const secret = new Uint8Array(64);
  secret.set(seed);
  secret.set(pub, 32);
  const priv = new Writer().string(type).string(pub).string(secret).string(comment);
  const file = privateFile(blob, priv);
  secret.fill(0);
  return { type: "ed25519", publicLine: `${type} ${b64(blob)} ${comment}`, privateFile: file };
}

function ecdsaFiles(x, y, d, comment) {
  const type = "ecdsa-sha2-nistp256";
  const q = new Uint8Array(65);
  q[0] = 4;
  q.set(x, 1);
  q.set(y, 33);
  const blob = new Writer().string(type).string("nistp256").string(q).done();
  const priv = new Writer().string(type).string("nistp256").string(q).mpint(d).string(comment);
  const file = privateFile(blob, priv);
  d.fill(0);
  return { type: "ecdsa", publicLine: `${type} ${b64(blob)} ${comment}`, privateFile: file };
}

// PROTOCOL.key: magic, "none" cipher and KDF, one key, then the private section (two equal
// check words, the key, padding 1, 2, 3, ... to the cipher block size 8), armored.
function privateFile(pubBlob, privWriter) {
  const check = crypto.getRandomValues(new Uint32Array(1))[0];
  const sec = new Writer().u32(check).u32(check);
  for (const p of privWriter.parts) sec.bytes(p);
  let body = sec.done();
  const pad = (8 - (body.length % 8)) % 8;
  const padded = new Uint8Array(body.length + pad);
  padded.set(body);
  for (let i = 0; i < pad; i++) padded[body.length + i] = i + 1;
  body.fill(0);
  const all = new Writer().bytes(enc.encode("openssh-key-v1\0")).string("none").string("none")
    .string(new Uint8Array(0)).u32(1).string(pubBlob).string(padded).done();
  padded.fill(0);
  const text = b64(all).replace(/(.{70})/g, "$1\n").replace(/\n$/, "");
  all.fill(0);
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${text}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

// The file names ssh-keygen would use for a key type: id_ed25519, id_ecdsa, id_rsa.
export function sshFileName(keyLine) {
  if (keyLine.startsWith("ssh-ed25519")) return "id_ed25519";
  if (keyLine.startsWith("ecdsa-")) return "id_ecdsa";
  if (keyLine.startsWith("ssh-rsa")) return "id_rsa";
  return "id_key";
}
