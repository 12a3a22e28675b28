// The hsmsign web console: a hash-routed single page (#/issue, #/ssh, #/inventory, #/trust,
// #/health, #/me, #/signin). Every DOM node is built with h() from text, never from HTML strings,
// so nothing the API answers is interpreted as markup. See docs/console.md.
import "reflect-metadata"; // first: @peculiar/x509 (tsyringe) needs the Reflect metadata API
import * as x509 from "@peculiar/x509";
import nacl from "tweetnacl";
import { open as sealOpen } from "tweetnacl-sealedbox-js";
import uPlot from "uplot";
import { api, pub, config, configLoad, credsGet, credsSet, credsClear } from "./api.js";
import { cognitoStart, cognitoFinish, cognitoSignOut } from "./cognito.js";
import { sshKeyGenerate, sshFileName, b64, unb64 } from "./ssh.js";

x509.cryptoProvider.set(crypto);

// ---- DOM helpers -------------------------------------------------------------------------------
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces EL's children; null, undefined and false are left out (the DOM would print "null").
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
}

let fieldSeq = 0;
// A labelled input (or select/textarea): returns [label, control].
function field(label, tag, attrs, ...kids) {
  const id = attrs.id || `f${++fieldSeq}`;
  return h("div", {}, h("label", { for: id }, label), h(tag, { ...attrs, id }, ...kids));
}

function select(label, id, options, value) {
  return field(label, "select", { id },
    options.map(([v, t]) => h("option", { value: v, selected: v === value }, t)));
}

function errorBox(e) {
  return h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e));
}

function say(text) {
  document.getElementById("status").textContent = text;
  if (text) setTimeout(() => { if (document.getElementById("status").textContent === text) say(""); }, 4000);
}

const blobUrls = [];
function download(name, text, label) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
  blobUrls.push(url);
  return h("a", { class: "button secondary", href: url, download: name, "data-file": name }, label || `Download ${name}`);
}

function val(id) {
  const el = document.getElementById(id);
  return el ? el.value.trim() : "";
}

function list(text) {
  return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

function fmtDate(s) {
  if (!s) return "";
  const d = s instanceof Date ? s : new Date(s);
  return isNaN(d) ? String(s) : d.toISOString().replace(".000Z", "Z");
}

// A query string for a signed request: every name and value through encodeURIComponent, so a
// space is %20. (URLSearchParams writes "+", which aws4fetch signs as a space but hsmsignd reads
// as a plus, RFC 3986: a 401; docs/api.md.)
function qs(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
}

function badge(status) {
  return h("span", { class: `badge ${status}` }, status);
}

// ---- whoami --------------------------------------------------------------------------------
let whoami = null;

async function whoamiLoad() {
  try {
    whoami = await api("GET", "/v1/whoami");
  } catch (e) {
    if (e.status === 404 || e.status === 405) whoami = { principal: "(this hsmsignd has no /v1/whoami)", permissions: null };
    else throw e;
  }
  return whoami;
}

function allowedProfiles() {
  const set = new Set();
  for (const r of whoami?.permissions?.rules || []) for (const p of r.profiles || []) set.add(p);
  return set.size ? [...set] : ["client", "server"];
}

// ---- sign-in -------------------------------------------------------------------------------
function pageSignin(main) {
  const err = h("div", {});
  const form = h("form", { "aria-label": "Sign in" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" },
      "Requests are signed in this browser with AWS Signature Version 4. The credentials stay in this tab's session storage and go to the hsmsign API only."),
    field("Access key ID", "input", { type: "text", id: "akid", autocomplete: "off", required: true, maxlength: 128 }),
    field("Secret access key", "input", { type: "password", id: "secret", autocomplete: "off", required: true, maxlength: 256 }),
    field("Session token (optional)", "input", { type: "password", id: "token", autocomplete: "off", maxlength: 4096 }),
    field("Region", "input", { type: "text", id: "region", value: config.region, required: true, maxlength: 64 }),
    field("Service name", "input", { type: "text", id: "service", value: config.service, required: true, maxlength: 64 }),
    h("button", { type: "submit", id: "signin" }, "Sign in"),
    err);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fill(err);
    credsSet({ accessKeyId: val("akid"), secretAccessKey: document.getElementById("secret").value,
      sessionToken: document.getElementById("token").value, region: val("region"), service: val("service") });
    try {
      await whoamiLoad();
      location.hash = "#/me";
      await route();
    } catch (e) {
      credsClear();
      fill(err, errorBox(e));
    }
  });
  main.append(form);
  if (config.cognito) {
    main.append(h("h2", {}, "Or"),
      h("button", { type: "button", id: "cognito", onclick: () => cognitoStart(config.cognito) }, "Sign in with Cognito"));
  }
}

// ---- who am I ------------------------------------------------------------------------------
function renderValue(v) {
  if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === "object" ? renderValue(x) : String(x))).join(", ") : "(none)";
  if (v && typeof v === "object") {
    return h("dl", { class: "kv" }, Object.entries(v).flatMap(([k, x]) => [h("dt", {}, k), h("dd", {}, renderValue(x))]));
  }
  return String(v);
}

async function pageMe(main) {
  main.append(h("h1", {}, "Who am I"));
  const w = whoami || (await whoamiLoad());
  main.append(h("dl", { class: "kv" },
    h("dt", {}, "Principal"), h("dd", { id: "principal" }, w.principal || ""),
    h("dt", {}, "Authenticated by"), h("dd", {}, w.authenticated_by || "sigv4"),
    h("dt", {}, "Administrator"), h("dd", {}, w.admin ? "yes: sees and revokes every certificate" : "no: sees and revokes its own certificates")));
  main.append(h("h2", {}, "What the policy allows"));
  const rules = w.permissions?.rules || [];
  if (!rules.length) main.append(h("p", {}, "No policy rule names this principal: every request is refused."));
  rules.forEach((r, i) => main.append(h("div", { class: "card" }, h("h3", {}, `Rule ${i + 1}`), renderValue(r))));
}

// ---- issue a certificate -----------------------------------------------------------------
async function csrMake(cn, sans, alg) {
  const algs = {
    "ecdsa-p256": [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
    "ecdsa-p384": [{ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" }],
    "rsa-2048": [{ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      { name: "RSASSA-PKCS1-v1_5" }],
  };
  const [gen, sig] = algs[alg];
  const keys = await crypto.subtle.generateKey(gen, true, ["sign", "verify"]);
  const ext = [];
  if (sans.length) {
    ext.push(new x509.SubjectAlternativeNameExtension(sans.map((s) => {
      if (/^[0-9.]+$/.test(s) || s.includes(":")) return { type: "ip", value: s };
      if (s.includes("@")) return { type: "email", value: s };
      return { type: "dns", value: s };
    })));
  }
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [cn] }], keys, signingAlgorithm: sig, extensions: ext,
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyPem = x509.PemConverter.encode(pkcs8.buffer, "PRIVATE KEY");
  pkcs8.fill(0);
  return { csrPem: csr.toString("pem"), keyPem };
}

function pageIssue(main) {
  const out = h("div", { id: "issue-result" });
  const mode = () => document.querySelector("input[name=csrmode]:checked").value;
  const genBox = h("div", { id: "gen-box" },
    field("Common name (CN)", "input", { type: "text", id: "cn", maxlength: 64, value: "" }),
    field("Subject alternative names (DNS names, IPs or emails; comma-separated)", "input", { type: "text", id: "sans", maxlength: 2048 }),
    select("Key type", "keytype", [["ecdsa-p256", "ECDSA P-256"], ["ecdsa-p384", "ECDSA P-384"], ["rsa-2048", "RSA 2048"]], "ecdsa-p256"));
  const pasteBox = h("div", { id: "paste-box", hidden: true },
    field("CSR (PEM, PKCS#10)", "textarea", { id: "csr", rows: 8, maxlength: 16384 }));
  const form = h("form", { "aria-label": "Issue a certificate" },
    h("h1", {}, "Issue a certificate"),
    h("fieldset", {}, h("legend", {}, "Key"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "csrmode", value: "gen", checked: true }), " Generate the key in this browser (it never leaves it)"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "csrmode", value: "paste" }), " Paste a CSR"),
      genBox, pasteBox),
    h("div", { class: "row" },
      select("Profile", "profile", allowedProfiles().map((p) => [p, p]), allowedProfiles()[0]),
      field("Lifetime (hours)", "input", { type: "number", id: "ttl", min: 1, max: 8784, value: 12 })),
    h("button", { type: "submit", id: "issue" }, "Issue certificate"),
    out);
  form.addEventListener("change", () => { genBox.hidden = mode() !== "gen"; pasteBox.hidden = mode() === "gen"; });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fill(out, h("p", {}, "Working…"));
    try {
      let csr, keyPem = null;
      if (mode() === "gen") {
        if (!val("cn") && !val("sans")) throw new Error("Give a common name or at least one SAN.");
        ({ csrPem: csr, keyPem } = await csrMake(val("cn"), list(val("sans")), val("keytype")));
      } else {
        csr = val("csr");
        if (!csr.includes("BEGIN CERTIFICATE REQUEST")) throw new Error("Paste a PEM CSR (-----BEGIN CERTIFICATE REQUEST-----).");
      }
      const ttl = Number(val("ttl"));
      const res = await api("POST", "/v1/certificates", { csr, profile: val("profile"), ...(ttl ? { ttl_hours: ttl } : {}) });
      fill(out, 
        h("p", { class: "okmsg" }, `Issued serial ${res.serial}, valid ${fmtDate(res.not_before)} to ${fmtDate(res.not_after)}.`),
        h("div", {}, download("cert.pem", res.certificate, "Download certificate"),
          download("chain.pem", res.chain, "Download chain"),
          keyPem ? download("key.pem", keyPem, "Download private key") : null),
        keyPem ? h("p", { class: "muted" }, "The private key exists only in this page: download it now.") : null,
        h("h2", {}, "Certificate"), h("pre", { id: "cert-pem" }, res.certificate));
      say("certificate issued");
    } catch (e) {
      fill(out, errorBox(e));
    }
  });
  main.append(form);
}

// ---- SSH ---------------------------------------------------------------------------------
async function sshTrust() {
  let ca;
  try {
    ca = await pub("/v1/ssh/ca");
  } catch (e) {
    return [errorBox(e)];
  }
  const host = location.hostname || "*";
  return [
    h("h2", {}, "Trust the SSH CAs"),
    h("p", {}, "On servers: put the user CA key(s) in a file and point sshd_config at it:"),
    h("pre", { id: "user-ca" }, `# /etc/ssh/hsmsign_user_ca.pub\n${(ca.user_ca || []).join("\n")}\n\n# sshd_config\nTrustedUserCAKeys /etc/ssh/hsmsign_user_ca.pub`),
    h("p", {}, "On clients: add the host CA to known_hosts (narrow the host pattern to your domain):"),
    h("pre", { id: "host-ca" }, (ca.host_ca || []).map((k) => `@cert-authority * ${k}`).join("\n") || "(no host CA configured)"),
    h("p", { class: "muted" }, `This console is served by ${host}.`),
  ];
}

function sshRequestFields() {
  return h("div", {},
    h("div", { class: "row" },
      select("Certificate type", "certtype", [["user", "user"], ["host", "host"]], "user"),
      field("Principals (comma-separated)", "input", { type: "text", id: "principals", maxlength: 4096 }),
      field("Lifetime (seconds)", "input", { type: "number", id: "sshttl", min: 1, value: 3600 }),
      field("Key ID (optional)", "input", { type: "text", id: "keyid", maxlength: 256 })));
}

function sshBody() {
  const b = { cert_type: val("certtype"), principals: list(val("principals")) };
  if (!b.principals.length) throw new Error("Give at least one principal.");
  if (Number(val("sshttl"))) b.ttl_seconds = Number(val("sshttl"));
  if (val("keyid")) b.key_id = val("keyid");
  return b;
}

function sshResult(out, res, publicLine, privateFile) {
  const base = sshFileName(res.certificate || publicLine);
  fill(out, 
    h("p", { class: "okmsg" }, `Certificate serial ${res.serial} for ${res.principals.join(", ")}, valid ${fmtDate(res.valid_after)} to ${fmtDate(res.valid_before)}.`),
    h("div", {},
      privateFile ? download(base, privateFile, `Download ${base}`) : null,
      publicLine ? download(`${base}.pub`, `${publicLine}\n`, `Download ${base}.pub`) : null,
      download(`${base}-cert.pub`, `${res.certificate}\n`, `Download ${base}-cert.pub`)),
    privateFile ? h("p", { class: "muted" }, `Save ${base} with mode 0600 (chmod 600 ${base}); it is not kept anywhere.`) : null,
    h("pre", { id: "ssh-cert" }, res.certificate));
}

async function sshServerGenerate(out, body) {
  const kp = nacl.box.keyPair();
  try {
    const sub = await api("POST", "/v1/ssh/keys", { ...body, key_type: val("sshkeytype"), recipient: b64(kp.publicKey) });
    const prog = h("progress", { id: "keygen-progress", max: 3, value: 0, "aria-label": "Key generation progress" });
    const stage = h("span", { id: "keygen-stage" }, "queued");
    fill(out, h("p", {}, "Request ", h("code", {}, sub.request_id), ": ", stage, " "), prog);
    let wait = 200;
    for (let i = 0; i < 120; i++) {
      const r = await api("GET", `/v1/ssh/keys/${sub.request_id}`);
      if (r.status === "done") {
        const opened = sealOpen(unb64(r.sealed_private_key), kp.publicKey, kp.secretKey);
        if (!opened) throw new Error("The sealed private key did not open with this page's key.");
        const file = new TextDecoder().decode(opened);
        opened.fill(0);
        sshResult(out, r, r.public_key, file);
        return;
      }
      if (r.status === "failed") throw new Error(`Key generation failed: ${r.error?.message || ""} ${r.error?.reason || ""}`);
      const st = { queued: 1, generating: 2, signing: 3 }[r.stage] || 0;
      prog.value = st;
      stage.textContent = r.stage + (r.position !== undefined ? ` (position ${r.position})` : "");
      await new Promise((res) => setTimeout(res, wait));
      wait = Math.min(wait * 2, 2000);
    }
    throw new Error("Key generation did not finish in time.");
  } finally {
    kp.secretKey.fill(0);
  }
}

async function pageSsh(main) {
  const out = h("div", { id: "ssh-result" });
  const mode = () => document.querySelector("input[name=sshmode]:checked").value;
  const pasteBox = h("div", { id: "ssh-paste" }, field("Public key (authorized_keys line)", "textarea", { id: "pubkey", rows: 3, maxlength: 8192 }));
  const browserBox = h("div", { id: "ssh-browser", hidden: true },
    select("Key type", "browserkeytype", [["ed25519", "Ed25519 (ECDSA P-256 where the browser lacks it)"], ["ecdsa", "ECDSA P-256"]], "ed25519"));
  const serverBox = h("div", { id: "ssh-server", hidden: true },
    select("Key type", "sshkeytype", [["ed25519", "Ed25519"], ["rsa-2048", "RSA 2048"], ["rsa-4096", "RSA 4096"]], "ed25519"));
  const form = h("form", { "aria-label": "SSH certificate" },
    h("h1", {}, "SSH certificates"),
    h("fieldset", {}, h("legend", {}, "Key"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "sshmode", value: "paste", checked: true }), " Sign my public key"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "sshmode", value: "browser" }), " Generate in this browser"),
      h("label", { class: "inline" }, h("input", { type: "radio", name: "sshmode", value: "server" }), " Generate on the server (sealed to this page)"),
      pasteBox, browserBox, serverBox),
    sshRequestFields(),
    h("button", { type: "submit", id: "ssh-submit" }, "Get certificate"),
    out);
  form.addEventListener("change", () => {
    pasteBox.hidden = mode() !== "paste";
    browserBox.hidden = mode() !== "browser";
    serverBox.hidden = mode() !== "server";
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    fill(out, h("p", {}, "Working…"));
    try {
      const body = sshBody();
      if (mode() === "server") {
        await sshServerGenerate(out, body);
      } else if (mode() === "browser") {
        const k = await sshKeyGenerate(body.key_id || body.principals[0], val("browserkeytype"));
        const res = await api("POST", "/v1/ssh/certificates", { ...body, public_key: k.publicLine });
        sshResult(out, res, k.publicLine, k.privateFile);
      } else {
        const res = await api("POST", "/v1/ssh/certificates", { ...body, public_key: val("pubkey") });
        sshResult(out, res, null, null);
      }
      say("SSH certificate issued");
    } catch (e) {
      fill(out, errorBox(e));
    }
  });
  main.append(form, ...(await sshTrust()));
}

// ---- inventory ---------------------------------------------------------------------------
const REASONS = ["unspecified", "keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation", "privilegeWithdrawn"];

function certRow(c) {
  const ssh = c.kind === "ssh";
  return {
    kind: ssh ? "ssh" : "x509",
    serial: c.serial,
    name: ssh ? `${c.key_id || ""} [${(c.principals || []).join(", ")}]` : [c.subject, ...(c.sans || [])].filter(Boolean).join(" "),
    status: c.status,
    requester: c.requested_by || "",
    expires: ssh ? c.valid_before : c.not_after,
    doc: c,
  };
}

function pageInventory(main) {
  const state = { cursor: null, pages: [], rows: [], sort: "expires", dir: -1 };
  const table = h("div", { id: "inventory-table" });
  const detail = h("div", { id: "inventory-detail" });
  const filters = h("form", { "aria-label": "Search certificates", class: "row" },
    field("Name (CN or SAN contains)", "input", { type: "search", id: "q-name", maxlength: 253 }),
    field("Serial (opens it)", "input", { type: "search", id: "q-serial", maxlength: 42, pattern: "[0-9A-Fa-f:]+" }),
    field("Requester ARN", "input", { type: "search", id: "q-requester", maxlength: 2048 }),
    select("Status", "q-status", [["", "any"], ["good", "good"], ["revoked", "revoked"], ["expired", "expired"]], ""),
    select("Kind", "q-kind", [["", "any"], ["x509", "X.509"], ["ssh", "SSH"]], ""),
    field("Expires after", "input", { type: "date", id: "q-after" }),
    field("Expires before", "input", { type: "date", id: "q-before" }),
    h("div", {}, h("button", { type: "submit", id: "search" }, "Search")));

  function query(cursor) {
    return qs({
      limit: "25", name: val("q-name"), requester: val("q-requester"), status: val("q-status"), kind: val("q-kind"),
      expires_after: val("q-after") && `${val("q-after")}T00:00:00Z`,
      expires_before: val("q-before") && `${val("q-before")}T00:00:00Z`,
      cursor,
    });
  }

  async function load(cursor) {
    fill(table, h("p", {}, "Loading…"));
    try {
      const res = await api("GET", `/v1/certificates?${query(cursor)}`);
      state.rows = res.certificates.map(certRow);
      state.cursor = res.cursor || null;
      draw();
    } catch (e) {
      fill(table, errorBox(e));
    }
  }

  function draw() {
    const rows = [...state.rows].sort((a, b) => (a[state.sort] > b[state.sort] ? 1 : a[state.sort] < b[state.sort] ? -1 : 0) * state.dir);
    const th = (key, label) => h("th", { "aria-sort": state.sort === key ? (state.dir > 0 ? "ascending" : "descending") : "none" },
      h("button", { type: "button", onclick: () => { state.dir = state.sort === key ? -state.dir : 1; state.sort = key; draw(); } }, label));
    fill(table, 
      h("table", {},
        h("caption", { class: "muted" }, `${rows.length} certificate(s) on this page`),
        h("thead", {}, h("tr", {}, th("kind", "Kind"), th("serial", "Serial"), th("name", "Name"), th("status", "Status"), th("requester", "Requester"), th("expires", "Expires"))),
        h("tbody", {}, rows.map((r) => h("tr", {},
          h("td", {}, r.kind),
          h("td", { class: "mono" }, h("a", { href: "#/inventory", "data-serial": r.serial, onclick: (ev) => { ev.preventDefault(); showDetail(r); } }, r.serial)),
          h("td", {}, r.name), h("td", {}, badge(r.status)), h("td", { class: "mono" }, r.requester), h("td", {}, fmtDate(r.expires)))))),
      h("div", {},
        state.pages.length ? h("button", { type: "button", class: "secondary", onclick: () => { state.current = state.pages.pop() || null; load(state.current); } }, "Previous page") : null,
        state.cursor ? h("button", { type: "button", class: "secondary", id: "next-page", onclick: () => { state.pages.push(state.current); state.current = state.cursor; load(state.cursor); } }, "Next page") : null));
  }

  async function showDetail(r) {
    const path = r.kind === "ssh" ? `/v1/ssh/certificates/${r.serial}` : `/v1/certificates/${r.serial}`;
    fill(detail, h("p", {}, "Loading…"));
    try {
      const doc = await api("GET", path);
      const reason = h("select", { id: "revoke-reason" }, REASONS.map((x) => h("option", { value: x }, x)));
      const dlg = h("dialog", { id: "revoke-dialog", "aria-labelledby": "revoke-title" },
        h("h2", { id: "revoke-title" }, `Revoke ${r.kind === "ssh" ? "SSH" : "X.509"} certificate ${r.serial}?`),
        h("p", {}, "Revocation cannot be undone; relying parties see it in the next CRL or KRL."),
        h("label", { for: "revoke-reason" }, "Reason"), reason,
        h("div", {},
          h("button", { type: "button", class: "danger", id: "revoke-confirm", onclick: async () => {
            dlg.close();
            try {
              await api("POST", `${path}/revoke`, { reason: reason.value });
              say(`revoked ${r.serial}`);
              await showDetail(r);
              await load(state.current);
            } catch (e) {
              detail.append(errorBox(e));
            }
          } }, "Revoke"),
          h("button", { type: "button", class: "secondary", onclick: () => dlg.close() }, "Cancel")));
      fill(detail, h("h2", {}, `Certificate ${r.serial}`), renderValue(doc),
        doc.status === "good" ? h("button", { type: "button", class: "danger", id: "revoke", onclick: () => dlg.showModal() }, "Revoke…") : null, dlg);
      detail.focus();
    } catch (e) {
      fill(detail, errorBox(e));
    }
  }

  // A serial opens its detail: SSH serials are decimal (up to 20 digits), X.509 serials hex; a
  // string that could be either is tried as SSH first.
  async function bySerial(serial) {
    const hex = serial.replace(/:/g, "").toLowerCase().replace(/^(00)+(?=.)/, "");
    const tries = [];
    if (/^[1-9][0-9]{0,19}$/.test(serial)) tries.push({ kind: "ssh", serial });
    if (/^[0-9a-f]{1,40}$/.test(hex)) tries.push({ kind: "x509", serial: hex });
    for (const t of tries) {
      try {
        await api("GET", t.kind === "ssh" ? `/v1/ssh/certificates/${t.serial}` : `/v1/certificates/${t.serial}`);
        return showDetail(t);
      } catch (e) {
        if (e.status !== 404 && e.status !== 400) return fill(detail, errorBox(e));
      }
    }
    fill(detail, errorBox(new Error(`No certificate with serial ${serial} that you may see.`)));
  }

  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (val("q-serial")) return bySerial(val("q-serial"));
    state.pages = [];
    state.current = null;
    load(null);
  });
  detail.setAttribute("tabindex", "-1");
  main.append(h("h1", {}, "Inventory"), filters, table, detail);
  load(null);
}

// ---- keys and trust ------------------------------------------------------------------------
function validityBar(from, to) {
  const now = Date.now(), a = from.getTime(), b = to.getTime();
  const pct = Math.max(0, Math.min(100, ((now - a) / (b - a)) * 100));
  const daysLeft = Math.floor((b - now) / 86400000);
  return h("div", {},
    h("div", { class: "bar", role: "img", "aria-label": `${pct.toFixed(0)}% of the validity period used, ${daysLeft} days left` },
      h("span", { style: null, "data-w": pct.toFixed(1) }), h("i", { "data-l": pct.toFixed(1) })),
    h("span", { class: "muted" }, `${fmtDate(from)} → ${fmtDate(to)} (${daysLeft} days left)`));
}

// CSP forbids inline style attributes; widths are set through the CSSOM instead.
function applyBars(root) {
  for (const s of root.querySelectorAll(".bar > span[data-w]")) s.style.width = `${s.dataset.w}%`;
  for (const s of root.querySelectorAll(".bar > i[data-l]")) s.style.left = `${s.dataset.l}%`;
}

// An OpenSSH KRL (PROTOCOL.krl): the header, and the count of revoked certificate serials.
function krlSummary(b) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = new TextDecoder().decode(b.subarray(0, 6));
  if (magic !== "SSHKRL") throw new Error("not an OpenSSH KRL");
  let o = 8;
  const u32 = () => { const v = dv.getUint32(o); o += 4; return v; };
  const u64 = () => { const v = dv.getBigUint64(o); o += 8; return v; };
  const str = () => { const n = u32(); const s = b.subarray(o, o + n); o += n; return s; };
  u32();
  const version = u64(), generated = u64();
  u64(); str(); str();
  let serials = 0n, cas = 0;
  while (o < b.length) {
    const type = b[o++];
    const data = str();
    if (type !== 1) continue;
    cas++;
    const sd = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let p = 4 + sd.getUint32(0);
    p += 4 + sd.getUint32(p);
    while (p < data.length) {
      const st = data[p++], n = sd.getUint32(p);
      p += 4;
      if (st === 0x20) serials += BigInt(n / 8);
      else if (st === 0x21) serials += sd.getBigUint64(p + 8) - sd.getBigUint64(p) + 1n;
      p += n;
    }
  }
  return { version, generated: new Date(Number(generated) * 1000), cas, serials };
}

async function pageTrust(main) {
  main.append(h("h1", {}, "Keys and trust"));
  const sec = async (title, id, fn) => {
    const box = h("section", { id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, title));
    main.append(box);
    try {
      await fn(box);
    } catch (e) {
      box.append(errorBox(e));
    }
  };
  await sec("CA chain", "chain", async (box) => {
    const pem = await pub("/v1/ca", "text");
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) || [];
    for (const p of certs) {
      const c = new x509.X509Certificate(p);
      const fp = new Uint8Array(await c.getThumbprint("SHA-256"));
      box.append(h("div", { class: "card" }, h("h3", {}, c.subject),
        h("dl", { class: "kv" }, h("dt", {}, "Issuer"), h("dd", {}, c.issuer), h("dt", {}, "Serial"), h("dd", {}, c.serialNumber),
          h("dt", {}, "SHA-256"), h("dd", { class: "mono" }, [...fp].map((x) => x.toString(16).padStart(2, "0")).join(":"))),
        validityBar(c.notBefore, c.notAfter)));
    }
    box.append(download("ca-chain.pem", pem, "Download chain (PEM)"));
  });
  await sec("JWT signing keys (JWKS)", "jwks", async (box) => {
    const j = await pub("/.well-known/jwks.json");
    box.append(h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "kid"), h("th", {}, "Type"), h("th", {}, "alg"), h("th", {}, "Age"))),
      h("tbody", {}, (j.keys || []).map((k) => {
        const t = k.iat || k.nbf;
        const age = t ? `${Math.floor((Date.now() / 1000 - t) / 86400)} days` : "not recorded in the JWK";
        return h("tr", {}, h("td", { class: "mono" }, k.kid || ""), h("td", {}, `${k.kty}${k.crv ? ` ${k.crv}` : ""}`), h("td", {}, k.alg || ""), h("td", {}, age));
      }))));
  });
  await sec("SSH certificate authorities", "sshca", async (box) => {
    box.append(...(await sshTrust()).slice(1));
  });
  await sec("Certificate revocation list", "crl", async (box) => {
    const der = await pub("/v1/crl", "bytes");
    const crl = new x509.X509Crl(der);
    const numExt = crl.extensions.find((e) => e.type === "2.5.29.20");
    let number = "";
    if (numExt) {
      const v = new Uint8Array(numExt.value);
      number = BigInt(`0x${[...v.subarray(2)].map((x) => x.toString(16).padStart(2, "0")).join("") || "0"}`).toString();
    }
    box.append(h("dl", { class: "kv" },
      h("dt", {}, "Issuer"), h("dd", {}, crl.issuer),
      h("dt", {}, "CRL number"), h("dd", { id: "crl-number" }, number),
      h("dt", {}, "This update"), h("dd", {}, fmtDate(crl.thisUpdate)),
      h("dt", {}, "Next update"), h("dd", {}, fmtDate(crl.nextUpdate)),
      h("dt", {}, "Revoked certificates"), h("dd", { id: "crl-revoked" }, String(crl.entries.length))),
      download("crl.der", der, "Download CRL (DER)"));
  });
  await sec("SSH key revocation list (KRL)", "krl", async (box) => {
    const b = await pub("/v1/ssh/krl", "bytes");
    const k = krlSummary(b);
    box.append(h("dl", { class: "kv" },
      h("dt", {}, "KRL version"), h("dd", {}, k.version.toString()),
      h("dt", {}, "Generated"), h("dd", {}, fmtDate(k.generated)),
      h("dt", {}, "CA sections"), h("dd", {}, String(k.cas)),
      h("dt", {}, "Revoked serials"), h("dd", { id: "krl-revoked" }, k.serials.toString())),
      download("revoked_keys.krl", b, "Download KRL (for sshd RevokedKeys)"));
  });
  applyBars(main);
}

// ---- health ------------------------------------------------------------------------------
function promParse(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

const sum = (ms, name, pred = () => true) => ms.filter((m) => m.name === name && pred(m.labels)).reduce((a, m) => a + m.value, 0);

// A small live line chart in its own card, appended to PARENT and sized to the card.
function chart(parent, title, id, series) {
  const box = h("div", { class: "card", id }, h("h3", {}, title));
  parent.append(box);
  const data = [[], ...series.map(() => [])];
  const plot = new uPlot({
    width: Math.max(240, box.clientWidth - 34), height: 160,
    series: [{}, ...series.map((s, i) => ({ label: s, stroke: ["#0b57d0", "#a50e0e", "#116329"][i], width: 2 }))],
    axes: [{}, { size: 50 }],
  }, data, box);
  return { push(t, vals) {
    data[0].push(t);
    vals.forEach((v, i) => data[i + 1].push(v));
    if (data[0].length > 60) data.forEach((d) => d.shift());
    plot.setData(data);
  } };
}

let healthTimer = null;

async function pageHealth(main) {
  main.append(h("h1", {}, "Health"));
  const tokenBox = h("p", { id: "token-status" }, "…");
  main.append(h("h2", {}, "Token"), tokenBox);
  const cards = h("div", { class: "cards" });
  main.append(h("h2", {}, "Live"), cards);
  const pool = chart(cards, "Pool sessions", "chart-pool", ["in use", "open"]);
  const rate = chart(cards, "Issuance rate (per second)", "chart-rate", ["certificates/s"]);
  // Where a request waits: the token's signature, or the inventory's durable write.
  const lat = chart(cards, "Latency (mean, ms)", "chart-csign", ["C_Sign", "inventory write"]);
  const expBox = h("div", { class: "card", id: "chart-expiry" }, h("h3", {}, "Certificates expiring in the next 30 days"));
  main.append(h("h2", {}, "Expiries"), expBox);
  let prev = null;
  async function tick() {
    try {
      const hz = await fetch(new URL("/healthz", config.api_base || location.origin), { cache: "no-store" });
      const ms = promParse(await pub("/metrics", "text"));
      const up = ms.find((m) => m.name === "hsmsign_token_up");
      fill(tokenBox, hz.ok && (!up || up.value === 1)
        ? h("span", { class: "okmsg" }, "ok: a token session answers (/healthz 200, hsmsign_token_up 1)")
        : h("span", { class: "error" }, `unhealthy: /healthz ${hz.status}, hsmsign_token_up ${up ? up.value : "absent"}`));
      const t = Date.now() / 1000;
      // Certificates handed out (X.509 and SSH); from the requests when hsmsign_issued_total is absent.
      const issued = ms.some((m) => m.name === "hsmsign_issued_total")
        ? sum(ms, "hsmsign_issued_total", (l) => l.kind === "x509" || l.kind === "ssh")
        : sum(ms, "hsmsign_requests_total", (l) => /^POST \/v1\/(ssh\/)?certificates$/.test(l.route) && l.status === "200");
      const cs = sum(ms, "hsmsign_c_sign_duration_seconds_sum"), cn = sum(ms, "hsmsign_c_sign_duration_seconds_count");
      const ws = sum(ms, "hsmsign_inventory_write_duration_seconds_sum"), wn = sum(ms, "hsmsign_inventory_write_duration_seconds_count");
      pool.push(t, [sum(ms, "hsmsign_pool_sessions", (l) => l.state === "in_use"), sum(ms, "hsmsign_pool_sessions", (l) => l.state === "open")]);
      if (prev) {
        const dt = t - prev.t;
        rate.push(t, [Math.max(0, (issued - prev.issued) / dt)]);
        // The mean over the last interval, or over all time when nothing happened in it.
        const mean = (s, n, ps, pn) => (n > pn ? ((s - ps) / (n - pn)) * 1000 : n ? (s / n) * 1000 : 0);
        lat.push(t, [mean(cs, cn, prev.cs, prev.cn), mean(ws, wn, prev.ws, prev.wn)]);
      }
      prev = { t, issued, cs, cn, ws, wn };
    } catch (e) {
      fill(tokenBox, errorBox(e));
    }
  }
  await tick();
  healthTimer = setInterval(tick, 2000);
  try {
    const days = Array(30).fill(0);
    const now = Date.now();
    let cursor = null;
    for (let page = 0; page < 10; page++) {
      const q = qs({ status: "good", limit: "200", expires_after: new Date(now).toISOString().replace(/\.\d+Z$/, "Z"),
        expires_before: new Date(now + 30 * 86400000).toISOString().replace(/\.\d+Z$/, "Z"), cursor });
      const res = await api("GET", `/v1/certificates?${q}`);
      for (const c of res.certificates) {
        const d = Math.floor((new Date(c.kind === "ssh" ? c.valid_before : c.not_after) - now) / 86400000);
        if (d >= 0 && d < 30) days[d]++;
      }
      cursor = res.cursor;
      if (!cursor) break;
    }
    const xs = days.map((_, i) => i);
    new uPlot({ width: Math.max(300, expBox.clientWidth - 34), height: 180,
      series: [{ label: "day" }, { label: "expiring", fill: "#0b57d0", stroke: "#0b57d0", paths: uPlot.paths.bars({ size: [0.8] }) }],
      axes: [{ label: "days from now", values: (u, v) => v.map((x) => `+${x}`) }, { size: 40 }], scales: { x: { time: false } } },
    [xs, days], expBox);
    expBox.append(h("p", { id: "expiry-total" }, `${days.reduce((a, b) => a + b, 0)} certificate(s) expire in the next 30 days.`));
  } catch (e) {
    expBox.append(errorBox(e));
  }
}

// ---- router ------------------------------------------------------------------------------
const pages = { "/issue": pageIssue, "/ssh": pageSsh, "/inventory": pageInventory, "/trust": pageTrust, "/health": pageHealth, "/me": pageMe };

async function route() {
  say("");
  if (healthTimer) { clearInterval(healthTimer); healthTimer = null; }
  while (blobUrls.length) URL.revokeObjectURL(blobUrls.pop());
  const main = document.getElementById("main");
  const signedIn = !!credsGet();
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  const path = location.hash.replace(/^#/, "") || "/me";
  fill(main);
  if (!signedIn) {
    document.getElementById("who").textContent = "";
    pageSignin(main);
    return;
  }
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.getAttribute("href") === `#${path}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    if (!whoami) await whoamiLoad();
    document.getElementById("who").textContent = whoami.principal || "";
    await (pages[path] || pageMe)(main);
  } catch (e) {
    main.append(errorBox(e));
  }
  main.dataset.ready = path;
}

async function start() {
  if (!window.isSecureContext || !crypto.subtle) {
    // WebCrypto (SigV4's HMAC, key generation) exists only in secure contexts.
    document.getElementById("main").append(errorBox(new Error(
      "The console needs HTTPS (or http://localhost / 127.0.0.1): browsers offer WebCrypto, which signs the requests, only in a secure context.")));
    return;
  }
  await configLoad();
  document.getElementById("signout").addEventListener("click", () => {
    const viaCognito = credsGet()?.cognito && config.cognito;
    credsClear();
    if (viaCognito) {
      cognitoSignOut(config.cognito);
      return;
    }
    whoami = null;
    location.hash = "#/signin";
    route();
  });
  if (config.cognito) {
    try {
      const c = await cognitoFinish(config.cognito);
      if (c) credsSet({ ...c, region: config.region, service: config.service });
    } catch (e) {
      document.getElementById("main").append(errorBox(e));
    }
  }
  window.addEventListener("hashchange", route);
  await route();
}

start();
