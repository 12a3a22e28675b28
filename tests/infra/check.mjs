#!/usr/bin/env node
// Structural check of infra/: what `terraform fmt -check -recursive` and much of `terraform
// validate` would catch, without a terraform binary (none can be installed here).
//
//   node tests/infra/check.mjs                 check infra/ (Terraform + infra/docker)
//   node tests/infra/check.mjs --write         rewrite unformatted .tf/.tfvars files, then check
//   node tests/infra/check.mjs --selftest      run the checks on tests/infra/fixtures/bad and
//                                              assert that each planted problem is reported
//   node tests/infra/check.mjs --root DIR [--dockerfile F --dockerignore F]
//
// Checks, per file or per directory (= Terraform module):
//   fmt          the file equals @cdktf/hcl-tools format() of it (HashiCorp's hclwrite formatter,
//                the one `terraform fmt` uses, compiled to WASM)
//   parse        @cdktf/hcl2json parses it
//   variable     every variable has a non-empty description and a type
//   validation   a validation condition refers to its own variable only (Terraform < 1.9)
//   output       every output has a non-empty description
//   module       every module block's local source exists; every argument is a variable of that
//                module; every variable without a default is passed
//   reference    var.X, local.X, module.M(.O), data.T.N and RESOURCE_TYPE.N resolve to
//                declarations in the same module (and O to an output of M's source)
//   unused       every declared variable is used
//   versions     every module pins hashicorp/aws in required_providers and has required_version;
//                a root (a directory with a provider block) pins aws with "~> 5."
//   tfvars       *.tfvars(.example) set only declared variables and every required one
//   docker       a small static lint of infra/docker/Dockerfile and the repository's .dockerignore
// Exit status: 0 when nothing is found, 1 with findings, 2 on a usage error.
import fs from "node:fs";
import path from "node:path";
import url from "node:url";

import { format } from "@cdktf/hcl-tools";
import { parse } from "@cdktf/hcl2json";

const HERE = path.dirname(url.fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../..");

const META_ARGS = new Set(["source", "version", "providers", "count", "for_each", "depends_on"]);
const IGNORED_ROOTS = new Set(["each", "count", "path", "self", "terraform"]);
const RESOURCE_ROOT = /^(aws|random|null|tls|time|archive|http|external|local)_[a-z0-9_]+$|^terraform_data$/;

// --- findings ---------------------------------------------------------------------------------

class Findings {
  constructor(base) {
    this.base = base;
    this.list = [];
  }
  add(check, file, line, message) {
    const rel = file ? path.relative(this.base, file) || "." : "";
    this.list.push({ check, file: rel, line, message });
  }
}

// --- files ------------------------------------------------------------------------------------

function walk(dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === ".terraform" || e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const isTf = (f) => f.endsWith(".tf");
const isTfvars = (f) => f.endsWith(".tfvars") || f.endsWith(".tfvars.example");

function lineOf(src, re) {
  const m = re.exec(src);
  return m ? src.slice(0, m.index).split("\n").length : undefined;
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const declLine = (src, kind, name) => lineOf(src, new RegExp(`^\\s*${kind}\\s+"${escapeRe(name)}"`, "m"));

// --- references -------------------------------------------------------------------------------
// A small lexer over HCL source: comments and literal string text are skipped; expressions at the
// top level and inside ${...} / %{...} (in strings and heredocs) are scanned for traversals such
// as var.x, module.m[0].out, aws_s3_bucket.b.arn. Attribute accesses (a traversal right after a
// ".") are not roots.

function scanRefs(src, startInString = false) {
  const refs = [];
  const stack = [startInString ? { mode: "string", top: true } : { mode: "code", depth: 0 }];
  let i = 0;
  let line = 1;
  let prev = ""; // last significant character in code
  const n = src.length;
  const isIdStart = (c) => /[A-Za-z_]/.test(c);
  const isId = (c) => /[A-Za-z0-9_-]/.test(c);

  while (i < n) {
    const top = stack[stack.length - 1];
    const c = src[i];
    if (top.mode === "code") {
      if (c === "\n") {
        line++;
        i++;
        continue;
      }
      if (c === "#" || (c === "/" && src[i + 1] === "/")) {
        while (i < n && src[i] !== "\n") i++;
        continue;
      }
      if (c === "/" && src[i + 1] === "*") {
        const end = src.indexOf("*/", i + 2);
        const stop = end < 0 ? n : end + 2;
        line += (src.slice(i, stop).match(/\n/g) || []).length;
        i = stop;
        continue;
      }
      if (c === '"') {
        stack.push({ mode: "string" });
        prev = '"';
        i++;
        continue;
      }
      const hd = /^<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n/.exec(src.slice(i, i + 80));
      if (hd) {
        stack.push({ mode: "heredoc", marker: hd[2] });
        i += hd[0].length;
        line++;
        continue;
      }
      if (c === "{") top.depth++;
      if (c === "}") {
        if (top.depth === 0 && stack.length > 1) {
          stack.pop();
          i++;
          continue;
        }
        top.depth--;
      }
      if (isIdStart(c)) {
        let j = i;
        while (j < n && isId(src[j])) j++;
        const root = src.slice(i, j);
        const parts = [];
        // .attr and [index] segments directly after the root
        for (;;) {
          if (src[j] === "." && j + 1 < n && isIdStart(src[j + 1])) {
            let k = j + 1;
            while (k < n && isId(src[k])) k++;
            parts.push(src.slice(j + 1, k));
            j = k;
          } else if (src[j] === "[") {
            let depth = 0;
            let k = j;
            for (; k < n; k++) {
              if (src[k] === "[") depth++;
              else if (src[k] === "]" && --depth === 0) break;
            }
            parts.push("[]");
            j = k + 1;
          } else break;
        }
        if (prev !== ".") refs.push({ root, parts, line });
        prev = src[j - 1];
        i = j;
        continue;
      }
      if (!/\s/.test(c)) prev = c;
      i++;
      continue;
    }
    // string or heredoc text
    if (top.mode === "heredoc") {
      const atLineStart = i === 0 || src[i - 1] === "\n";
      if (atLineStart) {
        const eol = src.indexOf("\n", i);
        const text = src.slice(i, eol < 0 ? n : eol).trim();
        if (text === top.marker) {
          stack.pop();
          i = eol < 0 ? n : eol;
          prev = "";
          continue;
        }
      }
    }
    if (c === "\n") line++;
    if (top.mode === "string" && c === "\\") {
      i += 2;
      continue;
    }
    if (top.mode === "string" && c === '"' && !top.top) {
      stack.pop();
      i++;
      continue;
    }
    if ((c === "$" || c === "%") && src[i + 1] === c && src[i + 2] === "{") {
      i += 3; // $${ and %%{ are literal
      continue;
    }
    if ((c === "$" || c === "%") && src[i + 1] === "{") {
      stack.push({ mode: "code", depth: 0 });
      prev = "";
      i += 2;
      continue;
    }
    i++;
  }
  return refs;
}

// --- the model of one directory (= one Terraform module) ---------------------------------------

async function loadDir(dir, findings, cache) {
  if (cache.has(dir)) return cache.get(dir);
  const m = {
    dir,
    files: [],
    variables: new Map(),
    outputs: new Map(),
    modules: new Map(),
    locals: new Set(),
    resources: new Set(),
    data: new Set(),
    terraform: [],
    providers: [],
    refs: [],
    parsedOk: true,
  };
  cache.set(dir, m);
  const tfFiles = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => f.endsWith(".tf")).sort().map((f) => path.join(dir, f))
    : [];
  for (const file of tfFiles) {
    const src = fs.readFileSync(file, "utf8");
    let json;
    try {
      json = await parse(path.basename(file), src);
    } catch (e) {
      findings.add("parse", file, undefined, String(e.message || e).replace(/\s+/g, " "));
      m.parsedOk = false;
      continue;
    }
    m.files.push({ file, src, json });
    for (const [name, blocks] of Object.entries(json.variable || {}))
      m.variables.set(name, { file, line: declLine(src, "variable", name), block: blocks[0] });
    for (const [name, blocks] of Object.entries(json.output || {}))
      m.outputs.set(name, { file, line: declLine(src, "output", name), block: blocks[0] });
    for (const [name, blocks] of Object.entries(json.module || {}))
      m.modules.set(name, { file, line: declLine(src, "module", name), block: blocks[0] });
    for (const l of json.locals || []) for (const k of Object.keys(l)) m.locals.add(k);
    for (const [type, byName] of Object.entries(json.resource || {}))
      for (const name of Object.keys(byName)) m.resources.add(`${type}.${name}`);
    for (const [type, byName] of Object.entries(json.data || {}))
      for (const name of Object.keys(byName)) m.data.add(`${type}.${name}`);
    for (const t of json.terraform || []) m.terraform.push({ file, block: t });
    for (const [name, blocks] of Object.entries(json.provider || {})) m.providers.push({ file, name, blocks });
    for (const r of scanRefs(src)) m.refs.push({ ...r, file });
  }
  return m;
}

// --- checks -----------------------------------------------------------------------------------

async function checkFormat(files, findings, write) {
  for (const file of files) {
    const src = fs.readFileSync(file, "utf8");
    const formatted = await format(src);
    if (formatted === src) continue;
    if (write) {
      fs.writeFileSync(file, formatted);
      console.log(`formatted ${path.relative(findings.base, file)}`);
    } else {
      const a = src.split("\n");
      const b = formatted.split("\n");
      let k = 0;
      while (k < a.length && a[k] === b[k]) k++;
      findings.add("fmt", file, k + 1, "not formatted like `terraform fmt` (tests/infra/check.sh --write fixes it)");
    }
  }
}

async function checkTfvarsParse(files, findings) {
  const parsed = new Map();
  for (const file of files) {
    try {
      parsed.set(file, await parse(path.basename(file).replace(/\.example$/, ""), fs.readFileSync(file, "utf8")));
    } catch (e) {
      findings.add("parse", file, undefined, String(e.message || e).replace(/\s+/g, " "));
    }
  }
  return parsed;
}

const text = (v) => (typeof v === "string" ? v.trim() : "");

function checkDeclarations(m, findings) {
  for (const [name, v] of m.variables) {
    if (!text(v.block.description)) findings.add("variable", v.file, v.line, `variable "${name}" has no description`);
    if (!("type" in v.block)) findings.add("variable", v.file, v.line, `variable "${name}" has no type`);
    for (const val of v.block.validation || []) {
      const cond = typeof val.condition === "string" ? val.condition : "";
      for (const r of scanRefs(cond, true)) {
        const own = r.root === "var" && r.parts[0] === name;
        const foreign =
          (r.root === "var" && !own) || ["local", "module", "data"].includes(r.root) || RESOURCE_ROOT.test(r.root);
        if (foreign)
          findings.add("validation", v.file, v.line, `variable "${name}": validation refers to ${[r.root, ...r.parts].join(".")} (only var.${name} is allowed before Terraform 1.9)`);
      }
      if (!text(val.error_message)) findings.add("validation", v.file, v.line, `variable "${name}": validation without error_message`);
    }
  }
  for (const [name, o] of m.outputs)
    if (!text(o.block.description)) findings.add("output", o.file, o.line, `output "${name}" has no description`);
}

// The line of `arg = ...` inside a module block (the first one after the block's header).
function argLine(call, arg) {
  const lines = fs.readFileSync(call.file, "utf8").split("\n");
  const re = new RegExp(`^\\s*${escapeRe(arg)}\\s*=`);
  for (let k = (call.line ?? 1) - 1; k < lines.length; k++) if (re.test(lines[k])) return k + 1;
  return call.line;
}

async function checkModules(m, findings, cache) {
  for (const [name, call] of m.modules) {
    const source = call.block.source;
    if (typeof source !== "string" || !(source.startsWith("./") || source.startsWith("../"))) {
      findings.add("module", call.file, call.line, `module "${name}": source ${JSON.stringify(source)} is not a local path (only local modules are checked)`);
      continue;
    }
    const target = path.resolve(m.dir, source);
    if (!fs.existsSync(target) || !fs.readdirSync(target).some(isTf)) {
      findings.add("module", call.file, call.line, `module "${name}": source ${source} does not exist or has no .tf files`);
      continue;
    }
    const child = await loadDir(target, findings, cache);
    if (!child.parsedOk) continue;
    for (const arg of Object.keys(call.block)) {
      if (META_ARGS.has(arg)) continue;
      if (!child.variables.has(arg))
        findings.add("module", call.file, argLine(call, arg), `module "${name}": argument "${arg}" is not a variable of ${source}`);
    }
    for (const [vname, v] of child.variables) {
      if (!("default" in v.block) && !(vname in call.block))
        findings.add("module", call.file, call.line, `module "${name}": required variable "${vname}" of ${source} is not passed`);
    }
  }
}

async function checkReferences(m, findings, cache) {
  const used = new Set();
  for (const r of m.refs) {
    const where = [r.root, ...r.parts].join(".");
    if (IGNORED_ROOTS.has(r.root)) continue;
    if (r.root === "var") {
      if (!r.parts[0] || r.parts[0] === "[]") continue;
      used.add(r.parts[0]);
      if (!m.variables.has(r.parts[0])) findings.add("reference", r.file, r.line, `${where}: no variable "${r.parts[0]}" in this module`);
    } else if (r.root === "local") {
      if (r.parts[0] && !m.locals.has(r.parts[0])) findings.add("reference", r.file, r.line, `${where}: no local "${r.parts[0]}"`);
    } else if (r.root === "module") {
      const name = r.parts[0];
      if (!name) continue;
      const call = m.modules.get(name);
      if (!call) {
        findings.add("reference", r.file, r.line, `${where}: no module "${name}" in this module`);
        continue;
      }
      const out = r.parts.slice(1).find((p) => p !== "[]");
      const source = call.block.source;
      if (!out || typeof source !== "string") continue;
      const target = path.resolve(m.dir, source);
      if (!fs.existsSync(target)) continue; // reported by the module check
      const child = await loadDir(target, findings, cache);
      if (child.parsedOk && !child.outputs.has(out))
        findings.add("reference", r.file, r.line, `${where}: module "${name}" (${source}) has no output "${out}"`);
    } else if (r.root === "data") {
      if (r.parts.length >= 2 && !m.data.has(`${r.parts[0]}.${r.parts[1]}`))
        findings.add("reference", r.file, r.line, `${where}: no data "${r.parts[0]}" "${r.parts[1]}" in this module`);
    } else if (RESOURCE_ROOT.test(r.root) && r.parts.length >= 1 && r.parts[0] !== "[]") {
      if (!m.resources.has(`${r.root}.${r.parts[0]}`))
        findings.add("reference", r.file, r.line, `${where}: no resource "${r.root}" "${r.parts[0]}" in this module`);
    }
  }
  for (const [name, v] of m.variables)
    if (!used.has(name)) findings.add("unused", v.file, v.line, `variable "${name}" is declared but never used`);
}

function checkVersions(m, findings) {
  const where = m.files[0]?.file ?? m.dir;
  const tb = m.terraform.map((t) => t.block);
  if (!tb.some((t) => typeof t.required_version === "string"))
    findings.add("versions", where, undefined, "no terraform { required_version } in this module");
  const aws = tb.flatMap((t) => t.required_providers || []).map((rp) => rp.aws).find(Boolean);
  const usesAws = [...m.resources, ...m.data].some((r) => r.startsWith("aws_")) || m.providers.some((p) => p.name === "aws");
  if (usesAws && (!aws || aws.source !== "hashicorp/aws" || typeof aws.version !== "string"))
    findings.add("versions", where, undefined, 'required_providers must pin aws = { source = "hashicorp/aws", version = ... }');
  if (m.providers.length > 0 && aws && !/~>\s*5\./.test(aws.version || ""))
    findings.add("versions", where, undefined, `a root module must pin the aws provider with "~> 5.x" (has ${JSON.stringify(aws.version)})`);
}

function checkTfvars(m, tfvarsFiles, parsed, findings) {
  const mine = tfvarsFiles.filter((f) => path.dirname(f) === m.dir);
  if (mine.length === 0) return;
  const set = new Set();
  for (const f of mine) {
    const j = parsed.get(f);
    if (!j) continue;
    for (const k of Object.keys(j)) {
      set.add(k);
      if (!m.variables.has(k)) findings.add("tfvars", f, lineOf(fs.readFileSync(f, "utf8"), new RegExp(`^\\s*${escapeRe(k)}\\s*=`, "m")), `"${k}" is not a variable of this module`);
    }
  }
  for (const [name, v] of m.variables)
    if (!("default" in v.block) && !set.has(name))
      findings.add("tfvars", mine[0], undefined, `required variable "${name}" is missing from ${mine.map((f) => path.basename(f)).join(", ")}`);
}

// --- Dockerfile lint --------------------------------------------------------------------------

const SECRET_NAME = /(PIN|PASSWORD|PASSWD|SECRET|PRIVATE_?KEY|TOKEN)/i;
const REFERENCE_SUFFIX = /_(ARN|ENV|NAME|ID|FILE|PATH|KEY_ID|URL|URI|SHA256)$/i;

function dockerInstructions(src) {
  const out = [];
  const lines = src.split("\n");
  let buf = "";
  let start = 0;
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k];
    if (!buf && (/^\s*#/.test(l) || !l.trim())) continue;
    if (!buf) start = k + 1;
    if (/\\\s*$/.test(l)) {
      buf += l.replace(/\\\s*$/, " ");
      continue;
    }
    buf += l;
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(buf);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
    buf = "";
  }
  return out;
}

function checkDockerfile(dockerfile, dockerignore, findings) {
  if (!fs.existsSync(dockerfile)) {
    findings.add("docker", dockerfile, undefined, "Dockerfile missing");
    return;
  }
  const ins = dockerInstructions(fs.readFileSync(dockerfile, "utf8"));
  const argDefaults = new Map();
  const stages = [];
  for (const i of ins) {
    if (i.op === "ARG") {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(i.args);
      if (!m) continue;
      const [, name, value] = m;
      if (stages.length === 0 && value !== undefined) argDefaults.set(name, value.replace(/^"(.*)"$/, "$1"));
      if (SECRET_NAME.test(name) && !REFERENCE_SUFFIX.test(name))
        findings.add("docker", dockerfile, i.line, `ARG ${name}: build arguments end up in the image history; never pass a secret as one`);
      continue;
    }
    if (i.op === "FROM") {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(i.args);
      const raw = m[1];
      const image = raw.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, v) => argDefaults.get(v) ?? `\${${v}}`);
      stages.push({ image, name: m[2], line: i.line, user: null, ins: [] });
      const known = stages.slice(0, -1).some((s) => s.name && s.name === image);
      if (image === "scratch" || known) continue;
      if (image.includes("${")) findings.add("docker", dockerfile, i.line, `FROM ${raw}: the image comes from an ARG without a default`);
      else if (!/@sha256:[0-9a-f]{64}$/.test(image)) {
        const tag = /:([^/:@]+)$/.exec(image);
        if (!tag) findings.add("docker", dockerfile, i.line, `FROM ${image}: no tag (implicitly latest); pin a tag or digest`);
        else if (tag[1] === "latest") findings.add("docker", dockerfile, i.line, `FROM ${image}: the latest tag is not reproducible; pin a tag or digest`);
      }
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) continue;
    stage.ins.push(i);
    if (i.op === "USER") stage.user = i.args;
    if (i.op === "ENV") {
      // ENV K=V [K2=V2 ...] or legacy ENV K V
      const pairs = /=/.test(i.args.split(/\s+/)[0])
        ? [...i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)].map((x) => [x[1], x[2]])
        : [[i.args.split(/\s+/)[0], i.args.split(/\s+/).slice(1).join(" ")]];
      for (const [k, v] of pairs) {
        const val = v.replace(/^"(.*)"$/, "$1");
        if (SECRET_NAME.test(k) && !REFERENCE_SUFFIX.test(k) && val !== "")
          findings.add("docker", dockerfile, i.line, `ENV ${k}: a secret-like variable with a value baked into the image`);
        if (/^[A-Za-z0-9_.-]+:[^\s/]{6,}$/.test(val) && /PIN|CU/i.test(k))
          findings.add("docker", dockerfile, i.line, `ENV ${k}: looks like a "CU_user:password" PIN`);
      }
    }
    if (i.op === "ADD" && /https?:\/\//.test(i.args) && !/--checksum=/.test(i.args))
      findings.add("docker", dockerfile, i.line, "ADD of a URL without --checksum");
    if (i.op === "RUN") {
      if (/\b(curl|wget)\b[^;&|]*https?:\/\//.test(i.args) && !/sha(256|512)sum\s+(-c|--check)/.test(i.args))
        findings.add("docker", dockerfile, i.line, "RUN downloads a file without verifying a pinned checksum in the same step (sha256sum -c)");
      if (/\|\s*(ba)?sh\b/.test(i.args)) findings.add("docker", dockerfile, i.line, "RUN pipes a download into a shell");
      if (/chmod\s+(-R\s+)?0?777\b/.test(i.args)) findings.add("docker", dockerfile, i.line, "RUN chmod 777");
    }
    if ((i.op === "COPY" || i.op === "ADD") && /(^|\s)(var\/|\S*\.(pin|key|secret)\b)/.test(i.args))
      findings.add("docker", dockerfile, i.line, `${i.op} ${i.args}: copies run-time state or key material into the image`);
    if ((i.op === "ENTRYPOINT" || i.op === "CMD") && !/^\[/.test(i.args))
      findings.add("docker", dockerfile, i.line, `${i.op} in shell form; use the exec (JSON) form`);
  }
  const last = stages[stages.length - 1];
  if (!last) findings.add("docker", dockerfile, undefined, "no FROM");
  else if (!last.user) findings.add("docker", dockerfile, last.line, "the final stage sets no USER (it would run as root)");
  else if (/^(root|0)(:|$)/.test(last.user)) findings.add("docker", dockerfile, last.line, `the final stage runs as ${last.user}`);
  if (!fs.existsSync(dockerignore)) findings.add("docker", dockerignore, undefined, ".dockerignore missing next to the build context");
  else {
    const rules = fs.readFileSync(dockerignore, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    const excludesAll = rules[0] === "*" || rules[0] === "**";
    for (const must of [".git", "var", "build*"])
      if (!excludesAll && !rules.some((r) => r.replace(/^\/|\/$/g, "") === must))
        findings.add("docker", dockerignore, undefined, `.dockerignore does not exclude ${must} (or start with "*")`);
    checkBuildContext(dockerignore, rules, findings);
  }
}

// An allow-list .dockerignore ("*" first) must let in every directory the top-level CMakeLists.txt
// adds with add_subdirectory() (but tests/, which the image build turns off), or the image's
// cmake step fails on a missing room.
function checkBuildContext(dockerignore, rules, findings) {
  const cmake = path.join(path.dirname(dockerignore), "CMakeLists.txt");
  if (!(rules[0] === "*" || rules[0] === "**") || !fs.existsSync(cmake)) return;
  const src = fs.readFileSync(cmake, "utf8").replace(/#.*$/gm, "");
  const allowed = new Set(rules.filter((r) => r.startsWith("!")).map((r) => r.slice(1).replace(/^\/|\/$/g, "")));
  for (const m of src.matchAll(/add_subdirectory\(\s*([A-Za-z0-9_./-]+)/g)) {
    const dir = m[1].replace(/^\.\/|\/$/g, "");
    if (dir === "tests" || allowed.has(dir)) continue;
    findings.add("docker", dockerignore, undefined, `.dockerignore does not let in ${dir}/ (add_subdirectory in CMakeLists.txt): the image build would fail`);
  }
}

// --- driver -----------------------------------------------------------------------------------

async function runChecks({ root, dockerfile, dockerignore, write, base }) {
  const findings = new Findings(base);
  const all = walk(root);
  const tf = all.filter(isTf);
  const tfvars = all.filter(isTfvars);
  await checkFormat([...tf, ...tfvars], findings, write);
  const parsedVars = await checkTfvarsParse(tfvars, findings);
  const cache = new Map();
  const dirs = [...new Set(tf.map((f) => path.dirname(f)))].sort();
  for (const dir of dirs) {
    const m = await loadDir(dir, findings, cache);
    checkDeclarations(m, findings);
    await checkModules(m, findings, cache);
    await checkReferences(m, findings, cache);
    if (m.parsedOk) checkVersions(m, findings);
    checkTfvars(m, tfvars, parsedVars, findings);
  }
  if (dockerfile) checkDockerfile(dockerfile, dockerignore, findings);
  return { findings, counts: { tf: tf.length, tfvars: tfvars.length, modules: dirs.length } };
}

function report(findings, counts, label) {
  const checks = ["fmt", "parse", "variable", "validation", "output", "module", "reference", "unused", "versions", "tfvars", "docker"];
  console.log(`${label}: ${counts.tf} .tf files, ${counts.tfvars} tfvars files, ${counts.modules} modules`);
  for (const c of checks) {
    const n = findings.list.filter((f) => f.check === c).length;
    console.log(`  ${c.padEnd(11, " ")} ${n === 0 ? "ok" : `${n} problem${n === 1 ? "" : "s"}`}`);
  }
  for (const f of findings.list) console.log(`FAIL [${f.check}] ${f.file}${f.line ? `:${f.line}` : ""}: ${f.message}`);
}

// The problems planted in tests/infra/fixtures/bad; each must be reported.
const EXPECTED = [
  ["fmt", "modules/widget/variables.tf", "not formatted"],
  ["parse", "broken/main.tf", ""],
  ["variable", "modules/widget/variables.tf", 'variable "size" has no description'],
  ["variable", "modules/widget/variables.tf", 'variable "label" has no type'],
  ["validation", "modules/widget/variables.tf", "validation refers to var.size"],
  ["output", "root/outputs.tf", 'output "widget_id" has no description'],
  ["module", "root/main.tf", 'argument "colour" is not a variable'],
  ["module", "root/main.tf", 'required variable "size"'],
  ["module", "root/main.tf", "source ../modules/missing does not exist"],
  ["reference", "root/main.tf", 'no variable "regoin"'],
  ["reference", "root/outputs.tf", 'has no output "arn"'],
  ["reference", "root/outputs.tf", 'no local "nope"'],
  ["reference", "modules/widget/main.tf", 'no resource "aws_s3_bucket" "missing"'],
  ["unused", "modules/widget/variables.tf", 'variable "unused" is declared but never used'],
  ["versions", "modules/widget", "required_providers must pin aws"],
  ["versions", "modules/widget", "no terraform { required_version }"],
  ["tfvars", "root/terraform.tfvars.example", '"colour" is not a variable'],
  ["docker", "Dockerfile", "latest tag"],
  ["docker", "Dockerfile", "no tag"],
  ["docker", "Dockerfile", "ENV HSM_PIN"],
  ["docker", "Dockerfile", "ARG CU_PASSWORD"],
  ["docker", "Dockerfile", "without verifying a pinned checksum"],
  ["docker", "Dockerfile", "sets no USER"],
  ["docker", ".dockerignore", ".dockerignore missing"],
];

async function selftest() {
  const root = path.join(HERE, "fixtures", "bad");
  const { findings, counts } = await runChecks({
    root,
    dockerfile: path.join(root, "Dockerfile"),
    dockerignore: path.join(root, ".dockerignore"),
    write: false,
    base: root,
  });
  report(findings, counts, "selftest (tests/infra/fixtures/bad)");
  let passed = 0;
  let failed = 0;
  for (const [check, file, needle] of EXPECTED) {
    const hit = findings.list.some((f) => f.check === check && f.file.startsWith(file) && f.message.includes(needle));
    console.log(`${hit ? "ok  " : "MISS"} [${check}] ${file}: ${needle || "(any)"}`);
    if (hit) passed++;
    else failed++;
  }
  // The fixture must not produce findings nobody planted (a check that fires on good code).
  const unexpected = findings.list.filter(
    (f) => !EXPECTED.some(([check, file, needle]) => f.check === check && f.file.startsWith(file) && f.message.includes(needle)),
  );
  for (const f of unexpected) console.log(`UNEXPECTED [${f.check}] ${f.file}${f.line ? `:${f.line}` : ""}: ${f.message}`);
  if (unexpected.length > 0) failed++;
  else passed++;
  // The build context check, on tests/infra/fixtures/context (CMakeLists.txt adds common, aws and
  // tests; .dockerignore lets in only common/): exactly aws/ is reported.
  const ctx = path.join(HERE, "fixtures", "context", ".dockerignore");
  const ctxFindings = new Findings(path.dirname(ctx));
  const ctxRules = fs.readFileSync(ctx, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  checkBuildContext(ctx, ctxRules, ctxFindings);
  const ctxOk = ctxFindings.list.length === 1 && ctxFindings.list[0].message.includes("does not let in aws/");
  console.log(`${ctxOk ? "ok  " : "MISS"} [docker] context/.dockerignore: does not let in aws/ (and nothing else)`);
  if (ctxOk) passed++;
  else failed++;
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

async function main(argv) {
  const opts = { root: path.join(REPO, "infra"), write: false, selftest: false, dockerfile: null, dockerignore: null };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === "--write") opts.write = true;
    else if (a === "--selftest") opts.selftest = true;
    else if (a === "--root") opts.root = path.resolve(argv[++k] ?? "");
    else if (a === "--dockerfile") opts.dockerfile = path.resolve(argv[++k] ?? "");
    else if (a === "--dockerignore") opts.dockerignore = path.resolve(argv[++k] ?? "");
    else {
      console.error(`usage: check.mjs [--write] [--selftest] [--root DIR] [--dockerfile FILE --dockerignore FILE]`);
      return 2;
    }
  }
  if (opts.selftest) return selftest();
  if (!fs.existsSync(opts.root)) {
    console.error(`check.mjs: ${opts.root} does not exist`);
    return 2;
  }
  const defaultRoot = path.join(REPO, "infra");
  if (opts.root === defaultRoot) {
    opts.dockerfile ??= path.join(REPO, "infra", "docker", "Dockerfile");
    opts.dockerignore ??= path.join(REPO, ".dockerignore");
  }
  const { findings, counts } = await runChecks({ ...opts, base: REPO });
  report(findings, counts, `infra check (${path.relative(REPO, opts.root) || "."})`);
  console.log(findings.list.length === 0 ? "infra check: no problems" : `infra check: ${findings.list.length} problem(s)`);
  return findings.list.length === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
