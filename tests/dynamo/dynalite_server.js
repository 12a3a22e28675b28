'use strict'
// A DynamoDB for the inventory tests: dynalite (in memory) behind a front that checks every
// request's SigV4 signature (dynalite does not), injects faults on demand, and serves an ECS-style
// container credentials endpoint. Listens on 127.0.0.1 only.
//
//   node dynalite_server.js --table NAME --region R --akid ID --secret-file FILE [--token T]
//                           [--creds-auth-file FILE] [--port-file FILE]
//
// The secret access key and the credentials endpoint's token are read from files (one value
// each, trailing whitespace dropped), never taken from the command line (ps, /proc/PID/cmdline).
//
// It creates the table with the inventory's schema (hash key serial, sparse GSI "revoked" on
// revoked_part + serial, projection INCLUDE not_after, revoked_at, reason; sparse GSI "krl" on
// revoked_part + krl_sort, projection INCLUDE not_after, revoked_at: as the Terraform defines it), then writes its port to
// --port-file (or stdout). Control routes (plain HTTP, never signed, never on the real service):
//   POST /__faults        {"faults": [{"status": 400, "type": "ThrottlingException",
//                                      "apply": false, "delay_ms": 0, "raw": null,
//                                      "big": false}, ...]}
//                         each of the next DynamoDB requests takes one fault: "apply" forwards
//                         the request first (the write happens, the answer is lost); "raw" is
//                         a non-JSON body; "big" answers 200 with 8 MiB; "delay_ms" waits first
//   POST /__create_table  {"name": "t2"}
//   POST /__config        {"creds_ttl_s": 3600}
//   GET  /__stats         {"requests", "targets": {...}, "auth_failures", "creds_fetches"}
//   GET  /creds           the container credentials (Authorization must equal the token in
//                         --creds-auth-file);
//                         each fetch issues a new key pair, valid until it expires
const http = require('http')
const crypto = require('crypto')
const fs = require('fs')
const dynalite = require('dynalite')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
for (const k of ['table', 'region', 'akid', 'secret-file']) {
  if (!args[k]) {
    console.error('missing --' + k)
    process.exit(2)
  }
}
args.secret = fs.readFileSync(args['secret-file'], 'utf8').trimEnd()
if (args['creds-auth-file']) {
  args['creds-auth'] = fs.readFileSync(args['creds-auth-file'], 'utf8').trimEnd()
}
if (!args.secret) {
  console.error('--secret-file is empty')
  process.exit(2)
}

const keys = new Map() // access key id -> {secret, token, expires (ms, 0 = never)}
keys.set(args.akid, { secret: args.secret, token: args.token || null, expires: 0 })
let faults = []
let credsTtl = 3600
let credsSerial = 0
const stats = { requests: 0, targets: {}, auth_failures: 0, creds_fetches: 0 }
let innerPort = 0

function hmac (key, s) { return crypto.createHmac('sha256', key).update(s).digest() }
function sha256hex (b) { return crypto.createHash('sha256').update(b).digest('hex') }

function awsError (res, status, type, message) {
  const body = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#' + type, message })
  res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0',
    'x-amzn-RequestId': crypto.randomUUID() })
  res.end(body)
}

// SigV4 (AWS General Reference, "Signature Version 4 signing process"), as DynamoDB checks it.
// Returns null when the request is properly signed, else [type, message].
function checkSignature (req, body) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/
    .exec(req.headers.authorization || '')
  if (!m) return ['MissingAuthenticationTokenException', 'Request is missing Authentication Token']
  const [, akid, date, region, service, signed, signature] = m
  const key = keys.get(akid)
  if (!key || (key.expires && key.expires < Date.now())) {
    return ['UnrecognizedClientException', 'The security token included in the request is invalid.']
  }
  if (region !== args.region || service !== 'dynamodb') {
    return ['InvalidSignatureException', 'Credential should be scoped to a valid region.']
  }
  const names = signed.split(';')
  for (const h of ['host', 'x-amz-date', 'x-amz-target'].concat(key.token ? ['x-amz-security-token'] : [])) {
    if (!names.includes(h)) return ['InvalidSignatureException', "'" + h + "' must be a 'SignedHeader'"]
  }
  if (key.token && req.headers['x-amz-security-token'] !== key.token) {
    return ['UnrecognizedClientException', 'The security token included in the request is invalid.']
  }
  const amzDate = req.headers['x-amz-date'] || ''
  const when = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'))
  if (!(Math.abs(Date.now() - when) < 15 * 60 * 1000) || amzDate.slice(0, 8) !== date) {
    return ['InvalidSignatureException', 'Signature expired or the date does not match the scope']
  }
  const canonHeaders = names.map(h => h + ':' + String(req.headers[h] || '').trim().replace(/\s+/g, ' ') + '\n').join('')
  const [path, query] = req.url.split('?')
  const canonical = [req.method, path, query || '', canonHeaders, signed, sha256hex(body)].join('\n')
  const scope = [date, region, service, 'aws4_request'].join('/')
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n')
  let k = hmac('AWS4' + key.secret, date)
  k = hmac(hmac(hmac(k, region), service), 'aws4_request')
  if (hmac(k, toSign).toString('hex') !== signature) {
    return ['InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.']
  }
  return null
}

// Sends the request to dynalite; resolves [status, headers, body].
function forward (req, body) {
  return new Promise((resolve, reject) => {
    const out = http.request({ host: '127.0.0.1', port: innerPort, method: req.method, path: req.url,
      headers: req.headers }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve([res.statusCode, res.headers, Buffer.concat(chunks)]))
    })
    out.on('error', reject)
    out.end(body)
  })
}

function inner (target, doc) {
  const body = Buffer.from(JSON.stringify(doc))
  return forward({ method: 'POST', url: '/', headers: {
    'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.' + target,
    'x-amz-date': '20200101T000000Z', 'content-length': String(body.length),
    authorization: 'AWS4-HMAC-SHA256 Credential=a/20200101/' + args.region +
      '/dynamodb/aws4_request, SignedHeaders=host, Signature=' + '0'.repeat(64) } }, body)
}

async function createTable (name) {
  const [status, , body] = await inner('CreateTable', {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'serial', AttributeType: 'S' },
      { AttributeName: 'revoked_part', AttributeType: 'S' },
      { AttributeName: 'krl_sort', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'serial', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    GlobalSecondaryIndexes: [{ IndexName: 'revoked',
      KeySchema: [{ AttributeName: 'revoked_part', KeyType: 'HASH' },
        { AttributeName: 'serial', KeyType: 'RANGE' }],
      // As infra/terraform/modules/inventory/main.tf projects it: a backend that reads any other
      // attribute through the index fails here as it would on AWS.
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['not_after', 'revoked_at', 'reason'] } },
    { IndexName: 'krl',
      KeySchema: [{ AttributeName: 'revoked_part', KeyType: 'HASH' },
        { AttributeName: 'krl_sort', KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['not_after', 'revoked_at'] } }]
  })
  if (status !== 200) throw new Error('CreateTable ' + name + ': ' + body)
  for (let i = 0; i < 100; i++) {
    const [, , d] = await inner('DescribeTable', { TableName: name })
    if (JSON.parse(d).Table.TableStatus === 'ACTIVE') return
    await new Promise(r => setTimeout(r, 20))
  }
  throw new Error('table ' + name + ' did not become ACTIVE')
}

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let n = 0
    req.on('data', c => { n += c.length; if (n > 16 << 20) req.destroy(); else chunks.push(c) })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function json (res, status, doc) {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(doc))
}

async function control (req, res, body) {
  const doc = body.length ? JSON.parse(body) : {}
  if (req.url === '/__faults') {
    faults = faults.concat(doc.faults || [])
    return json(res, 200, { queued: faults.length })
  }
  if (req.url === '/__create_table') {
    await createTable(doc.name)
    return json(res, 200, { created: doc.name })
  }
  if (req.url === '/__config') {
    if (doc.creds_ttl_s !== undefined) credsTtl = doc.creds_ttl_s
    return json(res, 200, {})
  }
  if (req.url === '/__stats') return json(res, 200, stats)
  return json(res, 404, { error: 'unknown control route' })
}

function creds (req, res) {
  if (!args['creds-auth'] || req.headers.authorization !== args['creds-auth']) {
    return json(res, 401, { code: 'Unauthorized' })
  }
  stats.creds_fetches++
  credsSerial++
  const akid = 'ASIATESTCREDS' + String(credsSerial).padStart(7, '0')
  const secret = crypto.randomBytes(30).toString('base64')
  const token = 'IQoJ' + crypto.randomBytes(600).toString('base64')
  const expires = Date.now() + credsTtl * 1000
  keys.set(akid, { secret, token, expires })
  json(res, 200, { AccessKeyId: akid, SecretAccessKey: secret, Token: token,
    Expiration: new Date(expires).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    RoleArn: 'arn:aws:iam::123456789012:role/hsmsign-test' })
}

async function handle (req, res) {
  const body = await readBody(req)
  if (req.url.startsWith('/__')) return control(req, res, body)
  if (req.url === '/creds' && req.method === 'GET') return creds(req, res)
  stats.requests++
  const target = String(req.headers['x-amz-target'] || '').replace(/^DynamoDB_20120810\./, '')
  stats.targets[target] = (stats.targets[target] || 0) + 1
  const bad = checkSignature(req, body)
  if (bad) {
    stats.auth_failures++
    return awsError(res, 400, bad[0], bad[1])
  }
  const f = faults.shift()
  if (f && f.delay_ms) await new Promise(r => setTimeout(r, f.delay_ms))
  if (f && f.apply) await forward(req, body)
  if (f && f.big) {
    res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' })
    return res.end('{"Item": {"x": {"S": "' + 'a'.repeat(8 << 20) + '"}}}')
  }
  if (f && f.raw !== undefined && f.raw !== null) {
    res.writeHead(f.status, { 'Content-Type': 'text/html' })
    return res.end(f.raw)
  }
  if (f && f.status) return awsError(res, f.status, f.type, f.message || f.type)
  const [status, headers, out] = await forward(req, body)
  res.writeHead(status, headers)
  res.end(out)
}

async function main () {
  const db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  await new Promise(r => db.listen(0, '127.0.0.1', r))
  innerPort = db.address().port
  await createTable(args.table)
  const front = http.createServer((req, res) => {
    handle(req, res).catch(e => { if (!res.headersSent) json(res, 500, { error: String(e) }) })
  })
  front.keepAliveTimeout = 30000
  await new Promise(r => front.listen(0, '127.0.0.1', r))
  const port = String(front.address().port)
  if (args['port-file']) {
    fs.writeFileSync(args['port-file'] + '.tmp', port)
    fs.renameSync(args['port-file'] + '.tmp', args['port-file'])
  } else {
    console.log(port)
  }
  const stop = () => { front.close(); db.close(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch(e => { console.error(e); process.exit(1) })
