'use strict'
// A Lambda Runtime API (2018-06-01) stand-in for tests/bench/lambda_bench.sh: it serves any
// number of execution environments at once (each hsmsignd in Lambda mode keeps one keep-alive
// connection) and always has an event ready, so every environment stays busy. Node's built-in
// http module only; listens on 127.0.0.1 only. Not a test: tests/lambda/runtime_api_server.py
// is the stand-in the integration tests use (one function instance, records every answer).
//
//   node lambda_runtime_bench.js --event FILE --expect TEXT --port-file FILE [--sample FILE]
//
// GET  /2018-06-01/runtime/invocation/next   answers at once with the bytes of --event and a
//      fresh Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms (now + 30 s),
//      Lambda-Runtime-Invoked-Function-Arn and Lambda-Runtime-Trace-Id
// POST /2018-06-01/runtime/invocation/ID/response   202; the answer is good when it is an API
//      Gateway proxy response with statusCode 200 whose body contains --expect (the first good
//      body is written to --sample, for a check with independent tools), busy when its
//      statusCode is 503 (the signer's "retry later": a throttled cluster), else bad
// POST /2018-06-01/runtime/invocation/ID/error      202; counted as bad
// POST /2018-06-01/runtime/init/error               202; counted as bad
//
// Per invocation it takes the time from the end of the /next answer (res.end) to the last
// byte of the response POST: the invocation's time inside the environment, what Lambda bills
// (the runtime's own reading of /next and writing of its POST included, the network not).
//
// Control (plain HTTP, for the script driving it):
//   GET  /control/status  {"handed", "answered", "bad", "busy", "environments", "held"} since
//                         start
//   POST /control/start   opens the measured window (zeroes the window's counters)
//   POST /control/drain   from now on /next calls are held, not answered (the environments
//                         finish their invocation and wait: SIGTERM then ends them cleanly)
//   POST /control/stop    closes it; answers {"invocations", "bad", "busy", "busy_rate",
//                         "seconds", "rate", "p50_ms", "p99_ms", "max_ms", "environments",
//                         "first_bad"}, over the answers that arrived inside the window (the
//                         percentiles over the good ones)
const http = require('http')
const crypto = require('crypto')
const fs = require('fs')

const args = {}
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1]
}
for (const k of ['event', 'expect', 'port-file']) {
  if (!args[k]) {
    console.error('missing --' + k)
    process.exit(2)
  }
}

const API = '/2018-06-01/runtime'
const BODY_MAX = 6 * 1024 * 1024 // bytes of one POST (Lambda's own response limit)
const DEADLINE_MS = 30000
const ARN = 'arn:aws:lambda:eu-central-1:111122223333:function:hsmsignd-bench'
const event = fs.readFileSync(args.event)
const expect = args.expect

const pending = new Map() // request id -> hrtime (ns, bigint) when its /next answer was written
let nextSocket = 0
const total = { handed: 0, answered: 0, bad: 0, busy: 0, environments: new Set() }
let win = null // the measured window: { t0, lat: [], bad, busy, environments: Set, firstBad }
let sampleWritten = !args.sample
let draining = false
let held = 0 // /next calls held while draining

function send (res, status, obj) {
  const data = Buffer.from(JSON.stringify(obj))
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length })
  res.end(data)
}

function next (req, res) {
  if (draining) {
    held++
    res.on('close', () => held--)
    return
  }
  const id = crypto.randomUUID()
  const trace = 'Root=1-' + Math.floor(Date.now() / 1000).toString(16) + '-' +
    crypto.randomBytes(12).toString('hex') + ';Parent=' + crypto.randomBytes(8).toString('hex') +
    ';Sampled=1'
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': event.length,
    'Lambda-Runtime-Aws-Request-Id': id,
    'Lambda-Runtime-Deadline-Ms': String(Date.now() + DEADLINE_MS),
    'Lambda-Runtime-Invoked-Function-Arn': ARN,
    'Lambda-Runtime-Trace-Id': trace
  })
  res.end(event)
  pending.set(id, process.hrtime.bigint())
  total.handed++
  total.environments.add(req.socket.benchId)
}

// 'good' for a proxy response with statusCode 200 and --expect in its body, 'busy' for one
// with statusCode 503, else 'bad'.
function judge (kind, body) {
  if (kind !== 'response') {
    return 'bad'
  }
  try {
    const p = JSON.parse(body)
    if (p.statusCode === 503) {
      return 'busy'
    }
    return p.statusCode === 200 && typeof p.body === 'string' && p.body.includes(expect) ? 'good' : 'bad'
  } catch (e) {
    return 'bad'
  }
}

function answer (req, res, id, kind, body) {
  const t1 = process.hrtime.bigint()
  const t0 = pending.get(id)
  if (t0 === undefined) {
    total.bad++
    if (win) {
      win.bad++
      win.firstBad = win.firstBad || 'unknown or already answered request id ' + id
    }
    return send(res, 400, { errorMessage: 'unknown request id', errorType: 'InvalidRequestID' })
  }
  pending.delete(id)
  total.answered++
  const verdict = judge(kind, body)
  const ok = verdict === 'good'
  if (verdict === 'busy') {
    total.busy++
  } else if (!ok) {
    total.bad++
  } else if (!sampleWritten) {
    sampleWritten = true
    fs.writeFileSync(args.sample, JSON.parse(body).body)
  }
  if (win) {
    win.environments.add(req.socket.benchId)
    if (ok) {
      win.lat.push(Number(t1 - t0) / 1e6)
    } else if (verdict === 'busy') {
      win.busy++
    } else {
      win.bad++
      win.firstBad = win.firstBad || kind + ': ' + body.slice(0, 300)
    }
  }
  send(res, 202, { status: 'OK' })
}

function percentile (sorted, p) {
  if (sorted.length === 0) {
    return 0
  }
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return sorted[Math.max(0, i)]
}

function stop () {
  const seconds = Number(process.hrtime.bigint() - win.t0) / 1e9
  const lat = win.lat.sort((a, b) => a - b)
  const out = {
    invocations: lat.length,
    bad: win.bad,
    busy: win.busy,
    busy_rate: win.busy / seconds,
    seconds,
    rate: lat.length / seconds,
    p50_ms: percentile(lat, 50),
    p99_ms: percentile(lat, 99),
    max_ms: lat.length ? lat[lat.length - 1] : 0,
    environments: win.environments.size,
    first_bad: win.firstBad || null
  }
  win = null
  return out
}

const server = http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  const chunks = []
  let size = 0
  req.on('data', (c) => {
    size += c.length
    if (size <= BODY_MAX) {
      chunks.push(c)
    }
  })
  req.on('end', () => {
    const url = req.url
    if (req.method === 'GET' && url === API + '/invocation/next') {
      return next(req, res)
    }
    if (size > BODY_MAX) {
      total.bad++
      return send(res, 413, { errorMessage: 'payload too large', errorType: 'RequestEntityTooLarge' })
    }
    const m = req.method === 'POST' && /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url)
    if (m) {
      return answer(req, res, m[1], m[2], Buffer.concat(chunks).toString('utf8'))
    }
    if (req.method === 'POST' && url === API + '/init/error') {
      total.bad++
      console.error('init error: ' + Buffer.concat(chunks).toString('utf8').slice(0, 300))
      return send(res, 202, { status: 'OK' })
    }
    if (url === '/control/status') {
      return send(res, 200, {
        handed: total.handed,
        answered: total.answered,
        bad: total.bad,
        busy: total.busy,
        environments: total.environments.size,
        held
      })
    }
    if (req.method === 'POST' && url === '/control/start') {
      win = { t0: process.hrtime.bigint(), lat: [], bad: 0, busy: 0, environments: new Set(), firstBad: null }
      return send(res, 200, {})
    }
    if (req.method === 'POST' && url === '/control/drain') {
      draining = true
      return send(res, 200, {})
    }
    if (req.method === 'POST' && url === '/control/stop' && win) {
      return send(res, 200, stop())
    }
    return send(res, 404, { errorMessage: 'no such path', errorType: 'NotFound' })
  })
})
server.on('connection', (socket) => {
  socket.setNoDelay(true)
  socket.benchId = nextSocket++
})
server.listen(0, '127.0.0.1', () => {
  const tmp = args['port-file'] + '.tmp'
  fs.writeFileSync(tmp, server.address().port + '\n')
  fs.renameSync(tmp, args['port-file'])
})
process.on('SIGTERM', () => process.exit(0))
