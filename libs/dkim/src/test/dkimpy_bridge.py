"""dkimpy side of libs/dkim's differential test (differential.test.ts).

One process for the whole run: reads JSON lines on stdin, answers one JSON
line per request on stdout, in order. Requests:
  {"op": "sign", "msg": b64, "selector", "domain", "key", "alg",
   "canon": ["relaxed", "simple"], "headers": [..] or null, "length": bool,
   "identity": str or null}                       -> {"sig": b64} or {"error": str}
  {"op": "verify", "msg": b64, "dns": {name: txt}} -> {"ok": bool} or {"error": str}
Run with Debian's /usr/bin/python3 (python3-dkim, python3-nacl).
"""
import base64
import json
import sys

import dkim


def sign(req):
    kw = dict(
        canonicalize=tuple(c.encode() for c in req["canon"]),
        signature_algorithm=req["alg"].encode(),
        length=req["length"],
    )
    if req.get("headers") is not None:
        kw["include_headers"] = [h.encode() for h in req["headers"]]
    if req.get("identity") is not None:
        kw["identity"] = req["identity"].encode()
    sig = dkim.sign(base64.b64decode(req["msg"]), req["selector"].encode(), req["domain"].encode(), req["key"].encode(), **kw)
    return {"sig": base64.b64encode(sig).decode()}


def verify(req):
    dns = {k.lower().rstrip("."): v for k, v in req["dns"].items()}

    def dnsfunc(name, timeout=5):
        return dns.get(name.decode("ascii", "replace").lower().rstrip("."))

    return {"ok": bool(dkim.verify(base64.b64decode(req["msg"]), dnsfunc=dnsfunc, minkey=1024))}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            out = sign(req) if req["op"] == "sign" else verify(req)
        except Exception as e:  # a signing refusal or a dkimpy crash is an answer, not the end of the run
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


main()
