// Validates configs against the JSON Schemas in docs/schema (draft 2020-12, ajv + ajv-formats,
// pinned by package-lock.json). Used by check.sh:
//   node check.mjs validate SCHEMA_ID FILE...   each FILE must be valid (errors on stderr)
//   node check.mjs invalid SCHEMA_ID FILE...    each FILE must be rejected
//   node check.mjs members SCHEMA_ID            every member path the schema lists, one a line
//                                               (a.b for objects, a[] for array items, a.* for
//                                               maps), $refs followed
//   node check.mjs names SCHEMA_ID...           every member name the schemas list, one a line
// SCHEMA_ID is a file name under docs/schema: hsmsignd.schema.json, ceremony/root.schema.json...
import {readFileSync, readdirSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = dirname(fileURLToPath(import.meta.url));
const dir = join(here, '..', '..', 'docs', 'schema');
const base = 'https://hsmsign.invalid/schema/';
const ajv = new Ajv2020({allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true});
addFormats(ajv);
const byId = {};
for (const f of ['hsmsignd.schema.json',
                 ...readdirSync(join(dir, 'ceremony')).map((n) => 'ceremony/' + n)]) {
  const s = JSON.parse(readFileSync(join(dir, f), 'utf8'));
  if (s.$id !== base + f) throw new Error(`${f}: $id is ${s.$id}, expected ${base + f}`);
  byId[f] = s;
  ajv.addSchema(s);
}

function validator(id) {
  const v = ajv.getSchema(base + id);
  if (!v) throw new Error(`no schema ${id}`);
  return v;
}

function resolve(node, schemaId) {
  while (node && node.$ref) {
    const [file, frag] = node.$ref.split('#');
    const sid = file ? new URL(file, base + schemaId).href.slice(base.length) : schemaId;
    let t = byId[sid];
    for (const part of (frag || '').split('/').filter(Boolean)) t = t[part];
    node = t;
    schemaId = sid;
  }
  return [node, schemaId];
}

function members(node, schemaId, prefix, out) {
  [node, schemaId] = resolve(node, schemaId);
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node.properties || {})) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p);
    members(v, schemaId, p, out);
  }
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    members(node.additionalProperties, schemaId, `${prefix}.*`, out);
  }
  if (node.items) members(node.items, schemaId, `${prefix}[]`, out);
  for (const alt of [...(node.oneOf || []), ...(node.anyOf || [])]) {
    members(alt, schemaId, prefix, out);
  }
}

const [cmd, id, ...files] = process.argv.slice(2);
let failed = 0;
if (cmd === 'validate' || cmd === 'invalid') {
  const v = validator(id);
  for (const f of files) {
    const ok = v(JSON.parse(readFileSync(f, 'utf8')));
    if (ok !== (cmd === 'validate')) {
      failed++;
      console.error(`${f}: ${ok ? 'accepted, expected a rejection' : ajv.errorsText(v.errors)}`);
    }
  }
} else if (cmd === 'members') {
  validator(id);
  const out = [];
  members(byId[id], id, '', out);
  console.log([...new Set(out)].join('\n'));
} else if (cmd === 'names') {
  const out = [];
  for (const s of [id, ...files]) members(byId[s], s, '', out);
  console.log([...new Set(out.map((p) => p.split(/[.[\]*]+/).filter(Boolean).pop()))].join('\n'));
} else {
  console.error('usage: node check.mjs validate|invalid|members|names SCHEMA_ID [FILE...]');
  process.exit(2);
}
process.exit(failed ? 1 : 0);
