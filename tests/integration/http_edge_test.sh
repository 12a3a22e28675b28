#!/usr/bin/env bash
# hsmsignd's HTTP edge (issue 10, finding 2 and the HTTP parts of item 8), against a real
# hsmsignd on a fresh SoftHSM2 token:
#   (a) 1,000 sockets trickling one header line a second from 127.0.0.2 do not stop other
#       callers: GET /healthz and a SigV4-signed POST /v1/tokens from 127.0.0.1 answer within
#       1 s each, several times, both under the default per-address limit (32) and with the
#       1,000 all held open by the server (limits raised);
#   (b) a trickler is closed (408) within limits.request_timeout_seconds (2 s) plus slack;
#   (c) the 33rd connection from one address gets 503 in our JSON shape and is closed, while
#       another address is served;
#   (d) a chunked body of 256 MiB gets 413 once API_BODY_MAX (64 KiB) is passed, with the
#       client having sent only a little of it;
#   (e) duplicate Content-Length, Content-Length with Transfer-Encoding, no Host, NUL or
#       another control character in a value, obs-fold, bare LF, a bad header name, extra
#       spaces in the request line: JSON 400 and the connection closed; 414, 431, 501 and 505
#       in the JSON shape too; pipelined requests answered in order;
#   (f) SIGTERM: hsmsignd exits 0 (threads joined, ASan/LSan quiet).
. "$(dirname "$0")/lib.sh"
require openssl curl
hsmsignd=${HSMSIGND:?}
work=$(mktemp -d)
trap 'stop_hsmsignd; rm -rf "$work"' EXIT
cd "$work"
mkdir -p out cfg
label=edge-test
new_token "$work/token" "$label"
module=/usr/lib/softhsm/libsofthsm2.so
token="\"token\": {\"module\": \"$module\", \"label\": \"$label\", \"pin_file\": \"$work/token/user.pin\"}"
small_ceremony edge EC-P256 || exit 1
principal=arn:aws:iam::123456789012:role/edge-caller
akid=AKIAEDGETEST00000001
new_caller_secret "$akid" # out/caller.secret and out/curl.cfg
# The server holds up to ~2,100 sockets in phase 2 (and the Python helper 1,000).
ulimit -n "$(ulimit -Hn)"
write_config() { # $1 = the "limits" member
    cat >cfg/hsmsignd.json <<EOF
{ "listen": "127.0.0.1:0", $token,
  "ca": {"key": "edge-issuing", "chain_file": "out/truststore.pem"},
  "inventory": {"sqlite": "out/inventory.db"},
  "jwt": {"issuer": "https://edge.example", "jwks_file": "out/jwks.json"},
  "auth": {"sigv4": {"region": "eu-west-1", "access_keys": [
      {"access_key_id": "$akid", "secret_file": "out/caller.secret",
       "principal_arn": "$principal"}]}},
  $(permissive_policy "$principal"),
  "console": {"dir": "ui"},
  "limits": $1 }
EOF
}
# A 6 MiB static file: an answer larger than the socket takes at once from a slow reader (a
# loopback socket's send buffer grows to tcp_wmem's 4 MiB).
mkdir -p ui
head -c 4718592 /dev/urandom | base64 -w 76 >ui/big.js

cat >edge.py <<'PY'
"""Raw-socket clients for http_edge_test.sh: python3 edge.py COMMAND PORT [ARGS]."""
import json, os, resource, select, socket, sys, time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
cmd, port = sys.argv[1], int(sys.argv[2])


def connect(src="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_all(s, timeout=3.0):
    """Everything until the server closes: (bytes, closed?)."""
    s.settimeout(timeout)
    got = b""
    try:
        while True:
            part = s.recv(65536)
            if not part:
                return got, True
            got += part
    except ConnectionResetError:
        return got, True
    except socket.timeout:
        return got, False


def parse(got):
    """The first response: (status, headers dict, body, rest)."""
    head, _, rest = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = int(headers["content-length"])
    return status, headers, rest[:n], rest[n:]


def json_error(got, status, error=None):
    st, headers, body, _ = parse(got)
    assert st == status, (st, got[:300])
    assert headers["content-type"] == "application/json", headers
    d = json.loads(body)
    assert set(d) >= {"error", "message", "request_id"} and len(d["request_id"]) == 16, d
    assert error is None or d["error"] == error, d
    return d


if cmd == "trickle":
    # trickle SRC COUNT SECONDS STATUS_FILE: COUNT sockets from SRC, each sending one header
    # line a second; a socket the server closes is opened again. Writes how many were open at
    # the end, how many were refused (503) and the most open at once.
    src, count, seconds, out = sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
    socks, refused, most, opened = [], 0, 0, 0
    end = time.time() + seconds
    while time.time() < end:
        while len(socks) < count and time.time() < end:
            try:
                s = connect(src)
                s.setblocking(False)
                s.send(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n")
                socks.append(s)
                opened += 1
            except OSError:
                time.sleep(0.01)
                break
        most = max(most, len(socks))
        alive = []
        for s in socks:
            try:
                data = s.recv(4096)
                if data.startswith(b"HTTP/1.1 503 "):
                    refused += 1
                s.close()  # answered or closed: opened again on the next round
                continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            try:
                s.send(b"X-Trickle: 1\r\n")
                alive.append(s)
            except OSError:
                s.close()
        socks = alive
        with open(out, "w") as f:
            json.dump({"open": len(socks), "refused": refused, "most": most, "opened": opened}, f)
        time.sleep(1.0)
    with open(out, "w") as f:
        json.dump({"open": len(socks), "refused": refused, "most": most, "opened": opened}, f)

elif cmd == "trickle_one":
    # (b): one socket, a header line every 0.5 s; the server must close it within the deadline
    # (2 s) plus slack, answering 408 in the JSON shape if it answers at all.
    s = connect("127.0.0.4")
    start = time.time()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n")
    s.settimeout(0.5)
    got = b""
    while time.time() - start < 10:
        try:
            part = s.recv(4096)
            if not part:
                break
            got += part
        except socket.timeout:
            try:
                s.sendall(b"X-Trickle: 1\r\n")
            except OSError:
                break
        except ConnectionResetError:
            break
    took = time.time() - start
    assert 1.5 < took < 3.5, took
    if got:
        json_error(got, 408, "request_timeout")
    print("closed after %.2f s" % took)

elif cmd == "per_ip":
    # (c): LIMIT sockets from 127.0.0.3 are held; the next one gets 503 JSON and is closed.
    limit = int(sys.argv[3])
    held = [connect("127.0.0.3") for _ in range(limit)]
    time.sleep(0.3)
    extra = connect("127.0.0.3")
    got, closed = read_all(extra)
    assert closed, "the connection over the limit was not closed"
    d = json_error(got, 503, "too_many_connections")
    assert parse(got)[1].get("retry-after") == "1", got
    print("%d held, the next refused: %s" % (limit, d["error"]))
    for s in held:
        s.close()

elif cmd == "hold":
    # hold SRC COUNT SECONDS: COUNT idle connections from SRC for SECONDS (background).
    src, count, seconds = sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    held = [connect(src) for _ in range(count)]
    time.sleep(seconds)

elif cmd == "chunked":
    # (d): a 256 MiB chunked body in 64 KiB chunks; stops when the answer comes.
    total = 256 << 20
    s = connect()
    s.sendall(b"POST /v1/certificates HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"a" * 0x10000 + b"\r\n"
    sent = 0
    s.setblocking(False)
    answered = False
    while sent < total:
        r, w, _ = select.select([s], [s], [], 5)
        if r:
            answered = True
            break
        if not w:
            break
        try:
            sent += s.send(chunk[sent % len(chunk):])
        except (BrokenPipeError, ConnectionResetError):
            break
    s.setblocking(True)
    got, closed = read_all(s)
    json_error(got, 413, "too_large")
    assert closed, "still open after the 413"
    assert sent < 16 << 20, "the client sent %d bytes before the 413" % sent
    print("413 after %d bytes sent (answered while sending: %s)" % (sent, answered))

elif cmd == "raw":
    # raw STATUS ERROR PYTHON-BYTES-LITERAL: the request as given; the answer must be our JSON
    # error with STATUS (and ERROR) and the connection closed after it.
    status, error, req = int(sys.argv[3]), sys.argv[4], eval(sys.argv[5])
    s = connect()
    s.sendall(req)
    got, closed = read_all(s)
    json_error(got, status, error)
    assert closed, "the connection stayed open"
    assert parse(got)[1]["connection"] == "close", got

elif cmd == "pipelined":
    # Two requests in one write on a keep-alive connection: two 200s in order, still open.
    s = connect()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n"
              b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: edge\r\n\r\n")
    s.settimeout(3)
    got = b""
    while got.count(b"HTTP/1.1 200 ") < 2 or not got.endswith(b"}"):
        part = s.recv(65536)
        assert part, got
        got += part
    st1, h1, _, rest = parse(got)
    st2, h2, body2, _ = parse(rest)
    assert st1 == st2 == 200 and h1["connection"] == "keep-alive", got
    assert "keys" in json.loads(body2), body2
elif cmd == "slow_reader":
    # slow_reader FILE: a keep-alive client with a 4 KiB receive buffer asks for FILE (6 MiB,
    # far more than the server's socket takes at once, so the worker's write stops part way and
    # the rest goes out as the client reads), reads nothing for 0.5 s, then reads it whole:
    # every byte right; then the same connection serves two more requests (GET /healthz, and
    # the file again), so the connection went back to reading after the partial write.
    want = open(sys.argv[3], "rb").read()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.settimeout(10)

    def one(path, pause):
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: edge\r\n\r\n")
        time.sleep(pause)
        got = b""
        while b"\r\n\r\n" not in got:
            part = s.recv(65536)
            assert part, got
            got += part
        head, _, body = got.partition(b"\r\n\r\n")
        headers = {k.lower(): v.strip() for k, v in
                   (l.split(":", 1) for l in head.decode("latin-1").split("\r\n")[1:])}
        n = int(headers["content-length"])
        while len(body) < n:
            part = s.recv(65536)
            assert part, (len(body), n)
            body += part
        assert len(body) == n, (len(body), n)
        assert headers["connection"] == "keep-alive", headers
        return int(head.split(b" ")[1]), body

    st, body = one(b"/ui/big.js", 0.5)
    assert st == 200 and body == want, (st, len(body), len(want))
    st, body = one(b"/healthz", 0)
    assert st == 200 and b"ok" in body, (st, body)
    st, body = one(b"/ui/big.js", 0.2)
    assert st == 200 and body == want, (st, len(body), len(want))
    print("6 MiB answer read slowly, whole, then two more on the same connection")
else:
    sys.exit("unknown command " + cmd)
PY

sig=(-K out/curl.cfg --aws-sigv4 aws:amz:eu-west-1:execute-api)
# served_fast: GET /healthz and a signed POST /v1/tokens from 127.0.0.1, each answered 200
# within 1 s, five times.
served_fast() {
    local i out
    for i in 1 2 3 4 5; do
        out=$(curl -sS -m 1 -o /dev/null -w '%{http_code} %{time_total}' "$svc_url/healthz") ||
            { echo "     /healthz: no answer within 1 s (round $i)"; return 1; }
        [ "${out%% *}" = 200 ] || { echo "     /healthz: $out"; return 1; }
        out=$(curl -sS -m 1 -o out/token.json -w '%{http_code} %{time_total}' "${sig[@]}" \
            -H 'Content-Type: application/json' --data '{"audience": "edge"}' \
            "$svc_url/v1/tokens") || { echo "     signed POST: no answer within 1 s"; return 1; }
        [ "${out%% *}" = 200 ] || { echo "     signed POST: $out $(head -c 200 out/token.json)"; return 1; }
        sleep 0.3
    done
}
trickle_stat() { $py -c 'import json,sys; print(json.load(open("out/trickle.json"))[sys.argv[1]])' "$1"; }

# --- phase 1: the default per-address limit (32), a 2 s request deadline -------------------------
write_config '{"request_timeout_seconds": 2, "connection_timeout_seconds": 5}'
start_hsmsignd cfg/hsmsignd.json out/hsmsignd1.log || exit 1
port=${svc_url##*:}
check "a signed request and /healthz answer within 1 s (nothing else going on)" served_fast

$py edge.py trickle "$port" 127.0.0.2 1000 9 out/trickle.json &
trickler=$!
sleep 2.5
check "(a) 1,000 trickling sockets from 127.0.0.2: other callers answered within 1 s" served_fast
wait "$trickler"
check "(b) a trickler is closed within request_timeout_seconds (2 s) + slack, 408 JSON" \
    $py edge.py trickle_one "$port"
check "(c) the 33rd connection from one address gets 503 JSON and is closed" \
    $py edge.py per_ip "$port" 32
per_ip_other() {
    $py edge.py hold "$port" 127.0.0.3 32 3 &
    local holder=$! code
    sleep 1
    code=$(curl -sS -m 1 --interface 127.0.0.5 -o /dev/null -w '%{http_code}' "$svc_url/healthz")
    wait "$holder"
    [ "$code" = 200 ]
}
check "(c) while 32 are held from 127.0.0.3, 127.0.0.5 is served" per_ip_other
check "(d) a 256 MiB chunked body gets 413 JSON after about 64 KiB, and the close" \
    $py edge.py chunked "$port"

raw() { $py edge.py raw "$port" "$@"; }
check "(e) duplicate Content-Length (equal values) -> 400 JSON, closed" \
    raw 400 bad_request 'b"POST /v1/tokens HTTP/1.1\r\nHost: e\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"'
check "(e) Content-Length with Transfer-Encoding -> 400 JSON, closed" \
    raw 400 bad_request 'b"POST /v1/tokens HTTP/1.1\r\nHost: e\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"'
check "(e) HTTP/1.1 without Host -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n"'
check "(e) two Host headers -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"'
check "(e) NUL in a header value -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET /healthz HTTP/1.1\r\nHost: e\r\nX-A: a\x00b\r\n\r\n"'
check "(e) another control character (0x01) in a header value -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET /healthz HTTP/1.1\r\nHost: e\r\nX-A: a\x01b\r\n\r\n"'
check "(e) obs-fold (a header line starting with SP) -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET /healthz HTTP/1.1\r\nHost: e\r\nX-A: a\r\n b\r\n\r\n"'
check "(e) bare LF line endings -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET /healthz HTTP/1.1\nHost: e\n\n"'
check "(e) a header name that is not a token -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET /healthz HTTP/1.1\r\nHost: e\r\nX A: b\r\n\r\n"'
check "(e) a space before the colon -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET /healthz HTTP/1.1\r\nHost : e\r\n\r\n"'
check "(e) extra spaces in the request line -> 400 JSON, closed" \
    raw 400 bad_request 'b"GET  /healthz HTTP/1.1\r\nHost: e\r\n\r\n"'
check "(e) bad chunk size -> 400 JSON, closed" \
    raw 400 bad_request 'b"POST /v1/tokens HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"'
check "(e) a request-target over 8 KiB -> 414 JSON, closed" \
    raw 414 uri_too_long 'b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: e\r\n\r\n"'
check "(e) a header value over 8 KiB -> 431 JSON, closed" \
    raw 431 headers_too_large 'b"GET /healthz HTTP/1.1\r\nHost: e\r\nX-A: " + b"a" * 9000 + b"\r\n\r\n"'
check "(e) a header section over 32 KiB -> 431 JSON, closed" \
    raw 431 headers_too_large 'b"GET /healthz HTTP/1.1\r\nHost: e\r\n" + (b"X-A: " + b"b" * 4000 + b"\r\n") * 9 + b"\r\n"'
check "(e) HTTP/2.0 in the request line -> 505 JSON, closed" \
    raw 505 http_version_not_supported 'b"GET /healthz HTTP/2.0\r\nHost: e\r\n\r\n"'
check "(e) Transfer-Encoding: gzip (chunked not final: length unknown) -> 400 JSON, closed" \
    raw 400 bad_request 'b"POST /v1/tokens HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: gzip\r\n\r\n"'
check "(e) Transfer-Encoding: gzip, chunked (a coding we lack) -> 501 JSON, closed" \
    raw 501 not_implemented 'b"POST /v1/tokens HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"'
check "(e) chunk data not followed by CRLF -> 400 JSON, closed" \
    raw 400 bad_request 'b"POST /v1/tokens HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n"'
check "(e) Content-Length over 64 KiB -> 413 JSON before the body, closed" \
    raw 413 too_large 'b"POST /v1/tokens HTTP/1.1\r\nHost: e\r\nContent-Length: 99999999\r\n\r\n"'
check "pipelined requests on one connection are answered in order" $py edge.py pipelined "$port"
check "a large answer to a slow reader arrives whole; the connection goes on" \
    $py edge.py slow_reader "$port" ui/big.js
check "after all that, the service still answers" served_fast

stop_clean() {
    kill -TERM "$svc_pid"
    local rc=0
    wait "$svc_pid" || rc=$?
    svc_pid=
    [ "$rc" = 0 ] && grep -q '"event":"service.stopped"' "$1" &&
        ! grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\)' "$1"
}
check "(f) SIGTERM: hsmsignd exits 0, sanitizers quiet" stop_clean out/hsmsignd1.log

# --- phase 2: the 1,000 all held open (limits raised), the deadline longer than the run -------
write_config '{"request_timeout_seconds": 60, "max_connections": 2100,
               "max_connections_per_ip": 1100}'
start_hsmsignd cfg/hsmsignd.json out/hsmsignd2.log || exit 1
port=${svc_url##*:}
$py edge.py trickle "$port" 127.0.0.2 1000 8 out/trickle.json &
trickler=$!
for _ in $(seq 1 50); do
    [ -s out/trickle.json ] && [ "$(trickle_stat open)" -ge 1000 ] && break
    sleep 0.1
done
check "(a) 1,000 trickling sockets held open by the server: other callers answered within 1 s" \
    served_fast
wait "$trickler"
check "(a) ... and all 1,000 stayed open, none refused" \
    sh -c "[ $(trickle_stat open) = 1000 ] && [ $(trickle_stat refused) = 0 ]"
# A request in flight when SIGTERM comes still gets its answer.
inflight() {
    rm -f out/token.json # served_fast left one: only this request's answer may be judged
    curl -sS -m 5 -o out/token.json -w '%{http_code}' "${sig[@]}" \
        -H 'Content-Type: application/json' --data '{"audience": "edge"}' \
        "$svc_url/v1/tokens" >out/inflight.code &
    local c=$!
    sleep 0.05
    stop_clean out/hsmsignd2.log || return 1
    wait "$c" || true
    # Either answered before the stop or refused at the door; never cut off half-way.
    grep -q '^200$' out/inflight.code || [ ! -s out/token.json ]
}
check "(f) SIGTERM with a request in flight: exits 0, sanitizers quiet" inflight
finish
