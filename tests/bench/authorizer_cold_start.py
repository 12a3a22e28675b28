#!/usr/bin/python3
"""Cold start of hsmsign-authorizer: from launch (just before fork/exec) to its first
GET /2018-06-01/runtime/invocation/next arriving at a Runtime API socket on 127.0.0.1 (issue 12:
target <= 15 ms). Each run is a new process; prints the median, p90 and max in milliseconds.

    authorizer_cold_start.py AUTHORIZER CONFIG [RUNS]
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def main():
    authz, config = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % lst.getsockname()[1],
               HSMSIGN_AUTHORIZER_CONFIG=config, HSMSIGN_LOG_LEVEL="error")
    ms = []
    for _ in range(runs):
        t0 = time.monotonic()
        p = subprocess.Popen([authz], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
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
        ms.append((t1 - t0) * 1000)
        p.send_signal(signal.SIGTERM)
        conn.close()
        p.wait(timeout=10)
    ms.sort()
    print("%.2f %.2f %.2f %d" % (statistics.median(ms), ms[int(len(ms) * 0.9) - 1], ms[-1], runs))


if __name__ == "__main__":
    main()
