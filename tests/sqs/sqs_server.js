'use strict'
// An SQS for the SQS client tests: local-aws-sqs (in memory; it speaks the JSON and the query
// protocol, and checks no signature) behind a front that checks every request's SigV4
// signature, can inject faults, and counts what it saw. Listens on 127.0.0.1 only.
//
//   node sqs_server.js --region R --akid ID --secret-file FILE [--queues a,b.fifo]
//                      [--port-file FILE]
//
// The secret access key is read from its file (trailing whitespace dropped), never taken from
// the command line (ps, /proc/PID/cmdline), as tests/dynamo/dynalite_server.js does.
//
// It creates the named queues (a name ending in .fifo is a FIFO queue with content-based
// deduplication), then writes its port to --port-file (or stdout). Control routes (plain HTTP,
// never signed, never on the real service):
//   POST /__faults  {"faults": [{"status": 500, "code": "InternalError"}, {"corrupt": true},
//                               {"delay_ms": 3000}, ...]}
//                   each of the next SQS requests takes one fault: "status" answers with that
//                   error (in the request's protocol) without forwarding; "corrupt" forwards and
//                   changes the first character of the first message Body of the answer (a
//                   ReceiveMessage whose MD5OfBody no longer matches); "delay_ms" waits first
//   GET  /__stats   {"requests", "actions": {...}, "auth_failures", "protocols": {...},
//                    "last_signed_headers"}
//   GET  /__last_request  the last SQS request as it came: {"method", "path", "headers" (names
//                    in lower case), "body_b64"}, for tests/sqs/sigv4_botocore.py
const http = require('http')
const crypto = require('crypto')
const fs = require('fs')
const { createSqsServer } = require('local-aws-sqs')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
for (const k of ['region', 'akid', 'secret-file']) {
  if (!args[k]) {
    console.error('missing --' + k)
    process.exit(2)
  }
}
args.secret = fs.readFileSync(args['secret-file'], 'utf8').trimEnd()

const JSON_TYPE = 'application/x-amz-json-1.0'
let faults = []
const stats = { requests: 0, actions: {}, auth_failures: 0, protocols: {}, last_signed_headers: '' }
let innerPort = 0
let lastRequest = {}

const hmac = (key, s) => crypto.createHmac('sha256', key).update(s).digest()
const sha256hex = b => crypto.createHash('sha256').update(b).digest('hex')
const isJson = req => req.headers['content-type'] === JSON_TYPE

// An SQS error in the request's protocol: JSON (__type, x-amzn-query-error) or query (XML).
function sqsError (req, res, status, code, message) {
  if (isJson(req)) {
    res.writeHead(status, { 'Content-Type': JSON_TYPE, 'x-amzn-query-error': code + ';Sender' })
    return res.end(JSON.stringify({ __type: 'com.amazonaws.sqs#' + code, message }))
  }
  res.writeHead(status, { 'Content-Type': 'text/xml' })
  res.end('<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">' +
    '<Error><Type>Sender</Type><Code>' + code + '</Code><Message>' + message + '</Message></Error>' +
    '<RequestId>' + crypto.randomUUID() + '</RequestId></ErrorResponse>')
}

// SigV4 (AWS General Reference, "Signature Version 4 signing process") as SQS checks it.
// Returns null when the request is properly signed, else [code, message].
function checkSignature (req, body) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/
    .exec(req.headers.authorization || '')
  if (!m) return ['MissingAuthenticationToken', 'Request is missing Authentication Token']
  const [, akid, date, region, service, signed, signature] = m
  stats.last_signed_headers = signed
  if (akid !== args.akid) return ['InvalidClientTokenId', 'The security token included in the request is invalid.']
  if (region !== args.region || service !== 'sqs') {
    return ['SignatureDoesNotMatch', 'Credential should be scoped to a valid region and service.']
  }
  const names = signed.split(';')
  const required = ['host', 'x-amz-date', 'content-type'].concat(isJson(req) ? ['x-amz-target'] : [])
  for (const h of required) {
    if (!names.includes(h)) return ['SignatureDoesNotMatch', "'" + h + "' must be a 'SignedHeader'"]
  }
  // As AWS does: a header named in SignedHeaders must be in the request (libcurl before 8.3
  // names one that a "Name:" line removed: curl issue 11664).
  for (const h of names) {
    if (req.headers[h] === undefined) {
      return ['IncompleteSignature', "'" + h + "' is named as a SignedHeader, but it does not exist in the HTTP request"]
    }
  }
  const amzDate = req.headers['x-amz-date'] || ''
  const when = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'))
  if (!(Math.abs(Date.now() - when) < 15 * 60 * 1000) || amzDate.slice(0, 8) !== date) {
    return ['SignatureDoesNotMatch', 'Signature expired or the date does not match the scope']
  }
  const headers = names.map(h => h + ':' + String(req.headers[h] || '').trim().replace(/\s+/g, ' ') + '\n').join('')
  const [path, query] = req.url.split('?')
  const canonical = [req.method, path, query || '', headers, signed, sha256hex(body)].join('\n')
  const scope = [date, region, service, 'aws4_request'].join('/')
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n')
  let k = hmac('AWS4' + args.secret, date)
  k = hmac(hmac(hmac(k, region), service), 'aws4_request')
  if (!crypto.timingSafeEqual(hmac(k, toSign), Buffer.from(signature, 'hex'))) {
    return ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.']
  }
  return null
}

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

// Changes the first character of the first message's Body (JSON or XML answer).
function corrupt (answer, json) {
  const flip = c => (c === 'x' ? 'y' : 'x')
  if (json) {
    const doc = JSON.parse(answer.toString())
    const msg = doc.Messages && doc.Messages[0]
    if (msg) msg.Body = flip(msg.Body[0]) + msg.Body.slice(1)
    return Buffer.from(JSON.stringify(doc))
  }
  return Buffer.from(answer.toString().replace(/<Body>(.)/, (_, c) => '<Body>' + flip(c)))
}

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let n = 0
    req.on('data', c => { n += c.length; if (n > 4 << 20) req.destroy(); else chunks.push(c) })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function reply (res, status, doc) {
  res.writeHead(status, { 'Content-Type': 'application/json' })
  res.end(JSON.stringify(doc))
}

function action (req, body) {
  if (isJson(req)) return String(req.headers['x-amz-target'] || '').replace(/^AmazonSQS\./, '')
  return new URLSearchParams(body.toString()).get('Action') || ''
}

async function handle (req, res) {
  const body = await readBody(req)
  if (req.url === '/__faults' && req.method === 'POST') {
    faults = faults.concat(JSON.parse(body).faults || [])
    return reply(res, 200, { queued: faults.length })
  }
  if (req.url === '/__stats') return reply(res, 200, stats)
  if (req.url === '/__last_request') return reply(res, 200, lastRequest)
  lastRequest = { method: req.method, path: req.url, headers: req.headers, body_b64: body.toString('base64') }
  stats.requests++
  const name = action(req, body)
  stats.actions[name] = (stats.actions[name] || 0) + 1
  const protocol = isJson(req) ? 'json' : 'query'
  stats.protocols[protocol] = (stats.protocols[protocol] || 0) + 1
  const bad = checkSignature(req, body)
  if (bad) {
    stats.auth_failures++
    return sqsError(req, res, 403, bad[0], bad[1])
  }
  const f = faults.shift()
  if (f && f.delay_ms) await new Promise(resolve => setTimeout(resolve, f.delay_ms))
  if (f && f.status) return sqsError(req, res, f.status, f.code || 'InternalError', 'injected')
  const [status, headers, answer] = await forward(req, body)
  const out = f && f.corrupt && status === 200 ? corrupt(answer, isJson(req)) : answer
  delete headers['content-length']
  res.writeHead(status, headers)
  res.end(out)
}

async function main () {
  const queues = (args.queues || '').split(',').filter(Boolean).map(q => q.endsWith('.fifo')
    ? { QueueName: q, Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' } }
    : { QueueName: q })
  const inner = await createSqsServer({ port: 0, hostname: '127.0.0.1', region: args.region,
    queues, emulateQueueCreationLifecycle: false })
  innerPort = inner.address().port
  const front = http.createServer((req, res) => {
    handle(req, res).catch(e => { if (!res.headersSent) reply(res, 500, { error: String(e) }) })
  })
  front.keepAliveTimeout = 30000
  await new Promise(resolve => front.listen(0, '127.0.0.1', resolve))
  const port = String(front.address().port)
  if (args['port-file']) {
    fs.writeFileSync(args['port-file'] + '.tmp', port)
    fs.renameSync(args['port-file'] + '.tmp', args['port-file'])
  } else {
    console.log(port)
  }
  const stop = () => { front.close(); inner.close(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch(e => { console.error(e); process.exit(1) })
