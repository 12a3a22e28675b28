#!/usr/bin/python3
"""Cold start of hsmsignd in Lambda mode (issue 15, item 5): from launch (just before
fork/exec) to its first GET /2018-06-01/runtime/invocation/next arriving at a Runtime API
socket on 127.0.0.1, the token opened and logged in before it. Each run is a new process; the
binaries named take turns, so the machine's other load hits them alike. Prints, per binary, the
min, median and p90 in milliseconds, and the median CPU time (user + system) of the whole run,
which the machine's other load moves less. Not a test.

    lambda_cold_start.py CONFIG RUNS HSMSIGND [HSMSIGND...]
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def one(binary, env, lst):
    t0 = time.monotonic()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn, _ = lst.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    t1 = time.monotonic()
    if not data.startswith(b"GET /2018-06-01/runtime/invocation/next "):
        sys.exit("unexpected first request: %r" % data[:80])
    p.send_signal(signal.SIGTERM)
    conn.close()
    _, _, ru = os.wait4(p.pid, 0)
    p.returncode = 0
    return (t1 - t0) * 1000, (ru.ru_utime + ru.ru_stime) * 1000


def main():
    config, runs, binaries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % lst.getsockname()[1],
               HSMSIGN_CONFIG=config, HSMSIGN_LOG_LEVEL="error")
    ms = {b: [] for b in binaries}
    cpu = {b: [] for b in binaries}
    for _ in range(runs):
        for b in binaries:
            wall, used = one(b, env, lst)
            ms[b].append(wall)
            cpu[b].append(used)
    for b in binaries:
        v = sorted(ms[b])
        print("%s: launch to first /next over %d runs: min %.1f ms, median %.1f ms, p90 %.1f ms;"
              " CPU of the whole run (start, first /next, SIGTERM, exit): median %.1f ms"
              % (b, runs, v[0], statistics.median(v), v[max(0, int(len(v) * 0.9) - 1)],
                 statistics.median(cpu[b])))


if __name__ == "__main__":
    main()
