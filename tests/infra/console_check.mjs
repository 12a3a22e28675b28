#!/usr/bin/env node
// Static checks of the web console's AWS shape (infra/terraform/modules/console, the CORS of
// modules/api) against what the rest of the repository says, without a terraform binary:
//
//   csp        the CSP CloudFront adds (modules/console local.csp_directives) is hsmsignd's
//              Content-Security-Policy for /ui/ (the C string in api/*.c) directive for directive,
//              with exactly the API, Cognito identity and user pool domain origins added to
//              connect-src; and never weaker than issue 14's floor (no unsafe-*, no wildcard).
//   contract   the generated config.json (local.console_config) has exactly the members of the
//              contract (issue 14), the same ones docs/console.md "## AWS deployment" shows, and
//              every member name occurs in the console's code (console/, not dist or node_modules),
//              which does not misuse cognito.provider as the hosted UI's identity_provider
//   types      the Content-Type map covers .html .js .css .svg .json .map .woff2 .png .ico with the
//              right types, and agrees with hsmsignd's own extension table where api/*.c has one
//   cors       modules/api: CORS only with var.console_origin (off by default), one origin, no
//              credentials, GET/HEAD/POST, the SigV4 request headers allowed, and Location,
//              Retry-After and X-Request-Id exposed, each of which hsmsignd's Lambda answer sends
//
// A comparison whose other side does not exist yet (no CSP in api/*.c while hsmsignd serves no
// /ui/, no console code) is reported as "skipped", not as passed.
//
//   node tests/infra/console_check.mjs             check the repository (exit 1 on findings)
//   node tests/infra/console_check.mjs --selftest  plant one problem at a time into the inputs and
//                                                  assert that each is reported (exit 1 otherwise)
import fs from "node:fs";
import path from "node:path";
import url from "node:url";

import { parse } from "@cdktf/hcl2json";

const HERE = path.dirname(url.fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../..");

// Issue 14's contract of config.json (the SPA reads these names; keep them).
const CONTRACT = [
  "api_base",
  "region",
  "service",
  "cognito",
  "cognito.identity_pool_id",
  "cognito.region",
  "cognito.user_pool_domain",
  "cognito.client_id",
  "cognito.redirect_uri",
  "cognito.provider",
];
// What CloudFront adds to hsmsignd's connect-src, as the module writes it.
const CONNECT_EXTRA = [
  "${var.api_base_url}",
  "https://cognito-identity.${local.region}.amazonaws.com",
  "https://${local.user_pool_domain}",
];
// Issue 14's floor, whatever hsmsignd sends.
const CSP_FLOOR = {
  "default-src": ["'self'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "object-src": ["'none'"],
  "base-uri": ["'none'"],
  "frame-ancestors": ["'none'"],
};
const TYPES = {
  html: ["text/html"],
  js: ["text/javascript", "application/javascript"],
  css: ["text/css"],
  svg: ["image/svg+xml"],
  json: ["application/json"],
  map: ["application/json"],
  woff2: ["font/woff2"],
  png: ["image/png"],
  ico: ["image/vnd.microsoft.icon", "image/x-icon"],
};
const CORS_HEADERS = ["authorization", "content-type", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];
const CORS_EXPOSE = ["location", "retry-after", "x-request-id"];
const CORS_METHODS = ["GET", "HEAD", "POST"];

// --- inputs -----------------------------------------------------------------------------------

function readIf(p) {
  return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : null;
}

function walk(dir, keep, out = {}) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith(".") || ["node_modules", "dist", "build", "test", "tests"].includes(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, keep, out);
    else if (keep(e.name)) out[path.relative(REPO, p)] = fs.readFileSync(p, "utf8");
  }
  return out;
}

function readInputs(repo) {
  const tf = (p) => readIf(path.join(repo, "infra/terraform/modules", p));
  const cSources = {};
  const apiDir = path.join(repo, "api");
  for (const f of fs.existsSync(apiDir) ? fs.readdirSync(apiDir).sort() : []) {
    if (f.endsWith(".c")) cSources[`api/${f}`] = fs.readFileSync(path.join(apiDir, f), "utf8");
  }
  return {
    consoleMain: tf("console/main.tf"),
    consoleFiles: tf("console/files.tf"),
    apiMain: tf("api/main.tf"),
    apiCors: tf("api/cors.tf"),
    cSources,
    docs: readIf(path.join(repo, "docs/console.md")),
    consoleCode: walk(path.join(repo, "console"), (n) => /\.(m?js|jsx|tsx?|html)$/.test(n)),
  };
}

// --- helpers ----------------------------------------------------------------------------------

async function locals(name, src) {
  const j = await parse(name, src);
  return Object.assign({}, ...(j.locals || []));
}

// C string literals with adjacent ones joined ("a" "b" -> "ab", across lines and comments).
function cStrings(src) {
  const out = [];
  let cur = null;
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      continue;
    }
    if (c === "'") {
      // a character literal: skip it whole ('"' must not open a string)
      i++;
      while (i < src.length && src[i] !== "'") i += src[i] === "\\" ? 2 : 1;
      i++;
      if (cur !== null) out.push(cur);
      cur = null;
      continue;
    }
    if (c === '"') {
      let s = "";
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === "\\") {
          const e = src[i + 1];
          s += { n: "\n", t: "\t", '"': '"', "\\": "\\", "'": "'" }[e] ?? e;
          i += 2;
        } else s += src[i++];
      }
      i++;
      cur = (cur ?? "") + s;
      continue;
    }
    if (!/\s/.test(c)) {
      if (cur !== null) out.push(cur);
      cur = null;
    }
    i++;
  }
  if (cur !== null) out.push(cur);
  return out;
}

function cspMap(directives) {
  const m = new Map();
  for (const d of directives) {
    const [name, ...sources] = d.trim().split(/\s+/);
    if (name) m.set(name.toLowerCase(), sources);
  }
  return m;
}

function leafPaths(obj, prefix = "") {
  const out = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p);
    if (v && typeof v === "object" && !Array.isArray(v)) out.push(...leafPaths(v, p));
  }
  return out;
}

const sameSet = (a, b) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");
const baseType = (t) => t.split(";")[0].trim().toLowerCase();

// --- the checks -------------------------------------------------------------------------------

async function check(inp) {
  const findings = [];
  const skipped = [];
  let checks = 0;
  const find = (area, msg) => findings.push(`[${area}] ${msg}`);
  const ran = () => checks++;

  if (!inp.consoleMain || !inp.consoleFiles || !inp.apiMain || !inp.apiCors) {
    find("inputs", "infra/terraform/modules/console/{main,files}.tf or modules/api/{main,cors}.tf missing");
    return { findings, skipped, checks };
  }
  const cm = await locals("console/main.tf", inp.consoleMain);
  const cf = await locals("console/files.tf", inp.consoleFiles);
  const am = await locals("api/cors.tf", inp.apiCors);

  // csp ---------------------------------------------------------------------------------------
  const tfDirectives = Array.isArray(cm.csp_directives) ? cm.csp_directives : [];
  if (tfDirectives.length === 0) find("csp", "modules/console: local.csp_directives is missing or empty");
  const tf = cspMap(tfDirectives);
  ran();
  for (const [n, sources] of tf) {
    for (const src of sources) {
      const schemeWide = /^(https?|wss?|data|blob):$/i.test(src) && !(n === "img-src" && /^(data|blob):$/.test(src));
      if (/^'unsafe-/i.test(src) || src.includes("*") || schemeWide) {
        find("csp", `modules/console: ${n} allows ${src} (unsafe-*, a wildcard or a whole scheme)`);
      }
    }
  }
  for (const [name, sources] of Object.entries(CSP_FLOOR)) {
    if (!tf.has(name) || !sameSet(tf.get(name), sources)) {
      find("csp", `modules/console: ${name} must be ${sources.join(" ")} (issue 14), is ${tf.has(name) ? tf.get(name).join(" ") : "absent"}`);
    }
  }
  const connect = tf.get("connect-src") || [];
  if (!sameSet(connect.filter((s) => s !== "'self'"), CONNECT_EXTRA) || !connect.includes("'self'")) {
    find("csp", `modules/console: connect-src must be 'self' plus ${CONNECT_EXTRA.join(" ")}; is ${connect.join(" ") || "absent"}`);
  }
  const cCsp = [...new Set(Object.values(inp.cSources).flatMap(cStrings).filter((s) => /default-src/.test(s)))];
  const servesUi = Object.values(inp.cSources).some((s) => /"\/ui[/"{]/.test(s));
  if (cCsp.length > 1) {
    find("csp", `api/*.c holds ${cCsp.length} different CSP strings; the check cannot tell which /ui/ sends`);
  } else if (cCsp.length === 0) {
    if (servesUi) find("csp", "hsmsignd routes /ui but no Content-Security-Policy string (default-src ...) was found in api/*.c");
    else skipped.push("csp: hsmsignd sends no CSP yet (no default-src string in api/*.c); compared with issue 14's floor only");
  } else {
    ran();
    const c = cspMap(cCsp[0].split(";").filter((d) => d.trim()));
    const names = new Set([...c.keys(), ...tf.keys()]);
    for (const n of names) {
      const want = n === "connect-src" && c.has(n) ? [...c.get(n), ...CONNECT_EXTRA] : c.get(n);
      if (!c.has(n)) find("csp", `modules/console adds ${n}, which hsmsignd's CSP does not have ("${cCsp[0]}")`);
      else if (!tf.has(n)) find("csp", `modules/console lacks ${n} ${c.get(n).join(" ")}, which hsmsignd sends`);
      else if (!sameSet(tf.get(n), want)) find("csp", `${n}: modules/console has "${tf.get(n).join(" ")}", expected hsmsignd's "${c.get(n).join(" ")}"${n === "connect-src" ? " plus the API and Cognito origins" : ""}`);
    }
  }

  // contract ----------------------------------------------------------------------------------
  ran();
  const cfg = cf.console_config;
  const tfPaths = cfg && typeof cfg === "object" ? leafPaths(cfg) : [];
  if (!sameSet(tfPaths, CONTRACT)) {
    find("contract", `modules/console local.console_config has ${tfPaths.join(", ") || "nothing"}; the contract is ${CONTRACT.join(", ")}`);
  }
  if (cfg && cfg.service !== "execute-api") find("contract", `config.json service must be "execute-api", is ${JSON.stringify(cfg.service)}`);
  const section = inp.docs ? /^## AWS deployment\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(inp.docs) : null;
  const block = section ? /```json\n([\s\S]*?)```/.exec(section[1]) : null;
  let docPaths = null;
  try {
    docPaths = block ? leafPaths(JSON.parse(block[1])) : null;
  } catch (e) {
    find("contract", `docs/console.md "## AWS deployment": its config.json example is not JSON (${e.message})`);
  }
  if (!block) find("contract", 'docs/console.md has no "## AWS deployment" section with a ```json config.json example');
  else if (docPaths && !sameSet(docPaths, CONTRACT)) {
    find("contract", `docs/console.md's config.json example has ${docPaths.join(", ")}; the contract is ${CONTRACT.join(", ")}`);
  }
  const code = Object.values(inp.consoleCode).join("\n");
  if (!code) {
    skipped.push("contract: no console code under console/ yet; member names not compared with what it reads");
  } else {
    ran();
    const names = [...new Set(CONTRACT.map((p) => p.split(".").pop()))];
    const missing = names.filter((n) => !new RegExp(`(^|[^A-Za-z0-9_$])${n}([^A-Za-z0-9_$]|$)`).test(code));
    if (missing.length) find("contract", `console/ code never names config.json member(s) ${missing.join(", ")}: it cannot read them`);
    // cognito.provider is the identity pool's Logins key (cognito-idp.REGION.amazonaws.com/POOL_ID),
    // not an identity provider name of the hosted UI: as /oauth2/authorize's identity_provider it
    // makes Cognito refuse the sign-in.
    for (const [file, src] of Object.entries(inp.consoleCode)) {
      if (/identity_provider["']?\s*[,:=]\s*[^\n;]*\.provider\b/.test(src)) {
        find("contract", `${file} sends config.json cognito.provider as the hosted UI's identity_provider; provider is the identity pool's Logins key (cognito-idp.REGION.amazonaws.com/USER_POOL_ID), which /oauth2/authorize does not accept`);
      }
    }
  }

  // types -------------------------------------------------------------------------------------
  ran();
  const types = cm.content_types && typeof cm.content_types === "object" ? cm.content_types : {};
  for (const [ext, ok] of Object.entries(TYPES)) {
    if (!(ext in types)) find("types", `modules/console content_types has no .${ext}`);
    else if (!ok.includes(baseType(types[ext]))) find("types", `.${ext} is served as ${types[ext]}, expected ${ok.join(" or ")}`);
  }
  for (const ext of Object.keys(types)) {
    if (ext !== ext.toLowerCase() || ext.startsWith(".")) find("types", `content_types key "${ext}": lower case, without the dot`);
  }
  // hsmsignd's table: a string ".ext" or "ext" directly followed by a "type/subtype" string.
  const pairs = [];
  for (const src of Object.values(inp.cSources)) {
    // Without a leading dot, only a name that is an extension here counts ("error", "text/plain"
    // is not a table row).
    const re = /"(\.?)([a-z0-9]{1,8})"\s*,\s*"([a-z]+\/[a-z0-9.+-]+[^"]*)"/g;
    for (let m; (m = re.exec(src)); ) if (m[1] || m[2] in TYPES || m[2] in types) pairs.push([m[2], m[3]]);
  }
  const cExts = pairs.filter(([e]) => e in TYPES);
  if (cExts.length < 3) {
    skipped.push("types: no extension table found in api/*.c; compared with issue 14's list only");
  } else {
    ran();
    for (const [ext, t] of pairs) {
      if (!(ext in types)) find("types", `hsmsignd serves .${ext} (${t}); modules/console content_types lacks it`);
      else if (baseType(types[ext]) !== baseType(t)) find("types", `.${ext}: hsmsignd sends ${t}, modules/console ${types[ext]}`);
    }
  }

  // cors --------------------------------------------------------------------------------------
  ran();
  const lower = (l) => (Array.isArray(l) ? l.map((s) => String(s).toLowerCase()) : []);
  const allow = lower(am.cors_allow_headers);
  const expose = lower(am.cors_expose_headers);
  for (const h of CORS_HEADERS) if (!allow.includes(h)) find("cors", `modules/api (cors.tf) cors_allow_headers lacks ${h} (SigV4 from a browser sends it)`);
  for (const h of CORS_EXPOSE) if (!expose.includes(h)) find("cors", `modules/api (cors.tf) cors_expose_headers lacks ${h}`);
  const lambda = inp.cSources["api/api_lambda_event.c"] || "";
  const sent = new Set(cStrings(lambda).map((s) => s.toLowerCase()));
  for (const h of expose) if (!sent.has(h)) find("cors", `modules/api exposes ${h}, which hsmsignd's Lambda answer (api/api_lambda_event.c) never sends`);
  const dyn = /dynamic\s+"cors_configuration"\s*\{\s*for_each\s*=\s*var\.console_origin\s*==\s*null\s*\?\s*\[\]\s*:\s*\[var\.console_origin\]([\s\S]*?)\n  \}/.exec(inp.apiMain);
  if (!dyn) {
    find("cors", 'modules/api: no `dynamic "cors_configuration"` over var.console_origin (CORS must be off without a console origin)');
  } else {
    const body = dyn[1];
    const methods = /allow_methods\s*=\s*\[([^\]]*)\]/.exec(body);
    const got = methods ? [...methods[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]) : [];
    if (!sameSet(got, CORS_METHODS)) find("cors", `allow_methods must be ${CORS_METHODS.join(", ")}; is ${got.join(", ") || "absent"}`);
    if (!/allow_origins\s*=\s*\[cors_configuration\.value\]/.test(body)) find("cors", "allow_origins must be [the console origin] only");
    if (!/allow_credentials\s*=\s*false/.test(body)) find("cors", "allow_credentials must be false (SigV4, no cookies)");
  }
  const ov = /variable\s+"console_origin"\s*\{([\s\S]*?)\n\}/.exec(inp.apiCors);
  if (!ov || !/default\s*=\s*null/.test(ov[1])) find("cors", 'modules/api variable "console_origin" must default to null (CORS off by default)');

  return { findings, skipped, checks };
}

// --- self-test: each planted problem must be found ----------------------------------------------

const HSMSIGND_CSP_C = `static const char API_UI_CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                                  "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; " /* split */
                                  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
static const char *types[][2] = {{".html", "text/html; charset=utf-8"}, {".js", "text/javascript"},
    {".css", "text/css"}, {".svg", "image/svg+xml"}, {".json", "application/json"}};
int q = '"'; static const char *r = "/ui/{path}";`;
const CODE = `const c = await (await fetch("config.json")).json(); use(c.api_base, c.region, c.service,
  c.cognito.identity_pool_id, c.cognito.region, c.cognito.user_pool_domain, c.cognito.client_id,
  c.cognito.redirect_uri, c.cognito.provider);`;

async function selftest() {
  const base = readInputs(REPO);
  base.cSources = { ...base.cSources, "api/api_ui_fixture.c": HSMSIGND_CSP_C };
  base.consoleCode = { "console/src/config.js": CODE };
  const clean = await check(base);
  let failed = 0;
  const report = (ok, what) => {
    console.log(`${ok ? "ok  " : "FAIL"} selftest: ${what}`);
    if (!ok) failed++;
  };
  report(clean.findings.length === 0 && clean.skipped.length === 0, `the repository with a planted hsmsignd CSP, type table and console code is clean (${clean.findings.join("; ") || "no findings"}; ${clean.skipped.join("; ") || "nothing skipped"})`);
  const plant = [
    ["csp", "connect-src without the Cognito identity origin", (i) => (i.consoleMain = i.consoleMain.replace(" https://cognito-identity.${local.region}.amazonaws.com", ""))],
    ["csp", "script-src with 'unsafe-inline'", (i) => (i.consoleMain = i.consoleMain.replace(`"script-src 'self'"`, `"script-src 'self' 'unsafe-inline'"`))],
    ["csp", "hsmsignd's CSP gains a directive CloudFront lacks", (i) => (i.cSources["api/api_ui_fixture.c"] = HSMSIGND_CSP_C.replace("form-action 'self';", "form-action 'self'; worker-src 'self';"))],
    // Only the fixture: the repository's own api/*.c has the CSP since hsmsignd serves /ui.
    ["csp", "hsmsignd routes /ui but sends no CSP", (i) => (i.cSources = { "api/api_ui_fixture.c": `static const char *r = "/ui/{path}";` })],
    ["contract", "a config.json member renamed in Terraform", (i) => (i.consoleFiles = i.consoleFiles.replace("user_pool_domain =", "userpool_domain  ="))],
    ["contract", "docs/console.md's example lacks a member", (i) => (i.docs = (i.docs || "").replace(/"provider":[^\n]*\n/, "").replace(/,(\s*)\}/, "$1}"))],
    ["contract", "the console code does not read redirect_uri", (i) => (i.consoleCode = { "console/src/config.js": CODE.replace("c.cognito.redirect_uri, ", "") })],
    ["contract", "the console code passes provider as identity_provider", (i) => (i.consoleCode = { "console/src/config.js": `${CODE}\nif (c.provider) q.set("identity_provider", c.provider);` })],
    ["types", "no .woff2 in the content type map", (i) => (i.consoleMain = i.consoleMain.replace(/\n\s*woff2\s*=[^\n]*/, ""))],
    ["types", "hsmsignd serves .css differently", (i) => (i.cSources["api/api_ui_fixture.c"] = HSMSIGND_CSP_C.replace('"text/css"', '"text/plain"'))],
    ["cors", "x-amz-security-token not allowed", (i) => (i.apiCors = i.apiCors.replace(', "x-amz-security-token"', ""))],
    ["cors", "an exposed header hsmsignd never sends", (i) => (i.apiCors = i.apiCors.replace('"x-request-id"]', '"x-request-id", "x-made-up"]'))],
    ["cors", "CORS on by default", (i) => (i.apiCors = i.apiCors.replace(/(variable "console_origin"[\s\S]*?default\s*=\s*)null/, '$1"https://console.example.com"'))],
    ["cors", "credentials allowed", (i) => (i.apiMain = i.apiMain.replace("allow_credentials = false", "allow_credentials = true"))],
  ];
  for (const [area, what, mutate] of plant) {
    const inp = structuredClone(base);
    mutate(inp);
    const r = await check(inp);
    report(r.findings.some((f) => f.startsWith(`[${area}]`)), `${what} is reported (${r.findings.join("; ") || "nothing reported"})`);
  }
  console.log(`console selftest: ${plant.length + 1 - failed} passed, ${failed} failed`);
  return failed === 0;
}

// --- main -------------------------------------------------------------------------------------

const args = process.argv.slice(2);
if (args[0] === "--selftest") {
  process.exit((await selftest()) ? 0 : 1);
} else if (args.length) {
  console.error("usage: console_check.mjs [--selftest]");
  process.exit(2);
}
const r = await check(readInputs(REPO));
for (const s of r.skipped) console.log(`skipped: ${s}`);
for (const f of r.findings) console.log(`FAIL ${f}`);
console.log(`console check: ${r.checks} comparisons, ${r.findings.length} finding(s), ${r.skipped.length} skipped`);
process.exit(r.findings.length ? 1 : 0);
