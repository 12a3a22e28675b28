// docs/openapi.yaml checks for tests/openapi/check.sh (issue 13, deliverable 7).
//   node check.mjs spec SPEC              -- a valid OpenAPI 3.1 document (openapi-schema-validator),
//                                            every schema compiles with ajv (2020-12), every
//                                            operationId unique, HEAD exactly where GET is
//   node check.mjs routes SPEC            -- "METHOD path AUTH" of every operation but HEAD, sorted
//                                            (AUTH as api_route.c: IAM, IAM_OR_CERT, PUBLIC)
//   node check.mjs answer SPEC METHOD PATH HEADERS BODY
//                                         -- an answer (curl -D headers, body file) of the
//                                            operation METHOD PATH (a spec path template) matches
//                                            the spec: its status is listed (or `default`), its
//                                            Content-Type is a listed media type, a JSON body is
//                                            valid against the schema, a non-JSON body against
//                                            the schema's pattern, the response's required
//                                            headers are present and match their schemas.
//   node check.mjs request SPEC METHOD PATH BODY
//                                         -- a JSON request body is valid against the operation's
//                                            request schema
// Exit 0 when it holds; 1 with the reasons on stderr otherwise.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import YAML from "yaml";

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function load(file) {
    // uniqueKeys: a key twice in one YAML mapping is an error, not a silent override.
    return YAML.parse(readFileSync(file, "utf8"), { uniqueKeys: true, merge: false });
}

function ajvFor(spec) {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    // OpenAPI's own keywords on schema objects; the document is its own schema resource.
    for (const k of ["example", "discriminator", "xml", "externalDocs"]) ajv.addKeyword(k);
    ajv.addSchema({ ...spec, $id: "spec.json" });
    return ajv;
}

function ptr(...parts) {
    return parts.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
}

function deref(spec, obj) {
    while (obj && obj.$ref) {
        obj = obj.$ref
            .replace(/^#\//, "")
            .split("/")
            .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))
            .reduce((o, k) => o[k], spec);
    }
    return obj;
}

async function cmdSpec(file) {
    const spec = load(file);
    const v = new Validator();
    const res = await v.validate(spec);
    const errs = [];
    if (!res.valid) errs.push("not a valid OpenAPI document: " + JSON.stringify(res.errors, null, 1));
    if (!String(spec.openapi).startsWith("3.1")) errs.push(`openapi is ${spec.openapi}, not 3.1.x`);
    const ajv = ajvFor(spec);
    let schemas = 0;
    for (const name of Object.keys(spec.components?.schemas ?? {})) {
        try {
            ajv.getSchema("spec.json#/" + ptr("components", "schemas", name));
            schemas++;
        } catch (e) {
            errs.push(`schema ${name} does not compile: ${e.message}`);
        }
    }
    const ids = new Set();
    for (const [path, item] of Object.entries(spec.paths)) {
        for (const m of methods) {
            const op = item[m];
            if (!op) continue;
            if (ids.has(op.operationId)) errs.push(`operationId ${op.operationId} twice`);
            ids.add(op.operationId);
        }
        if (!!item.get !== !!item.head) errs.push(`${path}: HEAD must be listed exactly where GET is`);
    }
    if (schemas < 10) errs.push(`only ${schemas} schemas compiled`);
    if (errs.length) {
        console.error(errs.join("\n"));
        process.exit(1);
    }
    console.log(`valid OpenAPI ${spec.openapi}; ${schemas} schemas compile; ${ids.size} operations`);
}

function cmdRoutes(file) {
    const spec = load(file);
    const out = [];
    for (const [path, item] of Object.entries(spec.paths)) {
        for (const m of methods) {
            if (!item[m] || m === "head") continue;
            // The route table's authentication: IAM (SigV4), IAM_OR_CERT, PUBLIC (none).
            const sec = (item[m].security ?? spec.security ?? []).map((r) => Object.keys(r).sort().join("+"));
            const kind = sec.join(",") === "sigv4" ? "IAM" : sec.join(",") === "sigv4,clientCertificate" ? "IAM_OR_CERT"
                : sec.length === 0 ? "PUBLIC" : "UNKNOWN(" + sec.join(",") + ")";
            out.push(`${m.toUpperCase()} ${path} ${kind}`);
        }
    }
    console.log(out.sort().join("\n"));
}

function parseHeaders(file) {
    // curl -D: possibly several blocks (100 Continue); the last one is the answer.
    const blocks = readFileSync(file, "latin1").split(/\r?\n\r?\n/).filter((b) => b.trim());
    const lines = blocks[blocks.length - 1].split(/\r?\n/);
    const status = lines[0].split(" ")[1];
    const headers = {};
    for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    return { status, headers };
}

function cmdAnswer(file, method, path, headerFile, bodyFile) {
    const spec = load(file);
    const errs = [];
    const op = spec.paths[path]?.[method.toLowerCase()];
    if (!op) {
        console.error(`the spec has no operation ${method} ${path}`);
        process.exit(1);
    }
    const { status, headers } = parseHeaders(headerFile);
    const listed = op.responses[status] !== undefined;
    const resp = deref(spec, op.responses[status] ?? op.responses.default);
    if (!resp) {
        console.error(`${method} ${path}: status ${status} is not listed (and no default)`);
        process.exit(1);
    }
    const where = `${method} ${path} ${status}${listed ? "" : " (default)"}`;
    for (const [name, h0] of Object.entries(resp.headers ?? {})) {
        const h = deref(spec, h0);
        const v = headers[name.toLowerCase()];
        if (v === undefined) {
            if (h.required) errs.push(`${where}: required header ${name} missing`);
            continue;
        }
        if (h.schema?.pattern && !new RegExp(h.schema.pattern, "u").test(v))
            errs.push(`${where}: header ${name}: ${v} does not match ${h.schema.pattern}`);
    }
    const body = readFileSync(bodyFile);
    const content = resp.content ?? {};
    if (method === "HEAD") {
        if (body.length !== 0) errs.push(`${where}: a HEAD answer has a body`);
    } else if (Object.keys(content).length === 0) {
        if (body.length !== 0) errs.push(`${where}: the spec lists no content, the answer has ${body.length} bytes`);
    } else {
        const ct = headers["content-type"];
        const norm = (s) => s.toLowerCase().replace(/\s+/g, "");
        const mediaKey = Object.keys(content).find((k) => ct !== undefined && norm(k) === norm(ct));
        if (mediaKey === undefined) {
            errs.push(`${where}: Content-Type ${ct} is not among ${Object.keys(content).join(", ")}`);
        } else {
            const ref = "spec.json#/" + ptr("paths", path, method.toLowerCase(), "responses");
            const schema = content[mediaKey].schema;
            const ajv = ajvFor(spec);
            const statusKey = listed ? status : "default";
            // The schema through the response as written ($ref included), so ajv resolves it.
            const base = op.responses[statusKey].$ref
                ? "spec.json#/" + op.responses[statusKey].$ref.replace(/^#\//, "")
                : `${ref}/${statusKey}`;
            const validate = ajv.getSchema(`${base}/content/${ptr(mediaKey)}/schema`);
            if (mediaKey.startsWith("application/json")) {
                let doc;
                try {
                    doc = JSON.parse(body.toString("utf8"));
                } catch (e) {
                    errs.push(`${where}: the body is not JSON: ${e.message}`);
                }
                if (doc !== undefined && !validate(doc))
                    errs.push(`${where}: ${ajv.errorsText(validate.errors, { dataVar: "body" })}`);
            } else if (schema?.pattern) {
                if (!validate(body.toString("latin1")))
                    errs.push(`${where}: ${ajv.errorsText(validate.errors, { dataVar: "body" })}`);
            } else if (body.length === 0) {
                errs.push(`${where}: an empty ${mediaKey} body`);
            }
        }
    }
    if (errs.length) {
        console.error(errs.join("\n"));
        process.exit(1);
    }
}

function cmdRequest(file, method, path, bodyFile) {
    const spec = load(file);
    const op = spec.paths[path]?.[method.toLowerCase()];
    const media = op?.requestBody?.content?.["application/json"];
    if (!media) {
        console.error(`the spec has no JSON request body for ${method} ${path}`);
        process.exit(1);
    }
    const ajv = ajvFor(spec);
    const validate = ajv.getSchema(
        "spec.json#/" + ptr("paths", path, method.toLowerCase(), "requestBody", "content", "application/json", "schema"),
    );
    if (!validate(JSON.parse(readFileSync(bodyFile, "utf8")))) {
        console.error(`${method} ${path} request: ${ajv.errorsText(validate.errors, { dataVar: "body" })}`);
        process.exit(1);
    }
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === "spec") await cmdSpec(args[0]);
else if (cmd === "routes") cmdRoutes(args[0]);
else if (cmd === "answer") cmdAnswer(...args);
else if (cmd === "request") cmdRequest(...args);
else {
    console.error("usage: check.mjs spec|routes|answer ...");
    process.exit(2);
}
