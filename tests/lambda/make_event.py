#!/usr/bin/python3
"""Fills in an event template from tests/lambda/events/ and prints the event.

    make_event.py TEMPLATE [--body NAME=VALUE]... [--set DOTTED.PATH=VALUE]... [--base64-body]

A VALUE starting with '@' is the content of that file, exactly as stored (a CSR, a certificate
PEM). --body sets a member of the JSON request body (the event's "body" string is parsed, changed
and serialised again); --set sets a member of the event itself (objects on the way are created);
--base64-body then encodes the body as standard base64 with "isBase64Encoded": true, as API
Gateway does for binary media types. Standard library only.
"""

import argparse
import base64
import json
import sys


def value(text):
    if text.startswith("@"):
        with open(text[1:], newline="") as f:
            return f.read()
    return text


def pair(text):
    name, sep, rest = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError("expected NAME=VALUE: %r" % text)
    return name, rest


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("template")
    ap.add_argument("--body", type=pair, action="append", default=[])
    ap.add_argument("--set", type=pair, action="append", default=[])
    ap.add_argument("--base64-body", action="store_true")
    args = ap.parse_args()
    with open(args.template) as f:
        event = json.load(f)
    if args.body:
        body = json.loads(event.get("body") or "{}")
        for name, v in args.body:
            body[name] = value(v)
        event["body"] = json.dumps(body)
    for path, v in args.set:
        node = event
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value(v)
    if args.base64_body:
        event["body"] = base64.b64encode((event.get("body") or "").encode()).decode()
        event["isBase64Encoded"] = True
    json.dump(event, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
