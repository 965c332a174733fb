#!/usr/bin/env python3
"""Interop of ternd's built-in blob store with a real S3 client (Debian's python3-boto3).

Run by tests/integration/blob_interop_test.cc against a live ternd. Checks:
  1. URLs presigned by boto3 with the store's credentials are accepted (PUT, GET, Range GET,
     DELETE).
  2. A URL presigned by Tern (passed in, made at --fixed-time for --expires seconds) is the very
     URL boto3 presigns for the same request at the same instant, and it works.
  3. Tampered URLs (signature, key, method, expiry parameter) and expired URLs get 403.
Prints "ok N checks" and exits 0, or prints the failed check and exits 1.
"""
import argparse
import configparser
import datetime
import hashlib
import base64
import os
import ssl
import sys
import types
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore.auth
from botocore.config import Config

real_timedelta = datetime.timedelta
real_timezone = datetime.timezone

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print("FAILED: " + what, flush=True)
        sys.exit(1)
    checks += 1


class FrozenClock:
    """Freezes botocore's SigV4 clock (botocore.auth reads datetime.datetime.utcnow())."""

    def __init__(self, unix_s):
        self.at = datetime.datetime.utcfromtimestamp(unix_s)

    def __enter__(self):
        at = self.at
        real = datetime.datetime

        class Frozen(real):
            @classmethod
            def utcnow(cls):
                return at

        self.saved = botocore.auth.datetime
        botocore.auth.datetime = types.SimpleNamespace(datetime=Frozen, timedelta=real_timedelta,
                                                       timezone=real_timezone)
        return self

    def __exit__(self, *exc):
        botocore.auth.datetime = self.saved


def http(method, url, body=None, headers=None, ctx=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=20) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--credentials", required=True)
    ap.add_argument("--bucket", default="tern")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--cafile")
    ap.add_argument("--tern-get-url", required=True, help="Tern's presigned GET of --tern-key")
    ap.add_argument("--tern-put-url", required=True, help="Tern's presigned PUT of --tern-key")
    ap.add_argument("--tern-key", required=True)
    ap.add_argument("--fixed-time", type=int, required=True)
    ap.add_argument("--expires", type=int, required=True)
    a = ap.parse_args()

    cred = configparser.ConfigParser()
    cred.read(a.credentials)
    key_id = cred["default"]["aws_access_key_id"]
    secret = cred["default"]["aws_secret_access_key"]
    ctx = ssl.create_default_context(cafile=a.cafile) if a.cafile else None
    s3 = boto3.client(
        "s3", endpoint_url=a.endpoint, region_name=a.region, aws_access_key_id=key_id,
        aws_secret_access_key=secret, verify=a.cafile if a.cafile else False,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    def presign(op, key, expires=300, **params):
        return s3.generate_presigned_url(op, Params=dict(Bucket=a.bucket, Key=key, **params), ExpiresIn=expires)

    # 1. boto3-signed URLs.
    data = os.urandom(100 * 1024 + 7)
    status, _, _ = http("PUT", presign("put_object", "interop/boto.bin"), data, ctx=ctx)
    check(status == 200, "PUT with a boto3 URL: %d" % status)
    status, body, _ = http("GET", presign("get_object", "interop/boto.bin"), ctx=ctx)
    check(status == 200 and body == data, "GET with a boto3 URL: %d, %d bytes" % (status, len(body)))
    status, body, hdrs = http("GET", presign("get_object", "interop/boto.bin"), headers={"Range": "bytes=10-19"},
                              ctx=ctx)
    check(status == 206 and body == data[10:20], "Range GET with a boto3 URL: %d" % status)
    check(hdrs.get("Content-Range") == "bytes 10-19/%d" % len(data), "Content-Range: %s" % hdrs.get("Content-Range"))
    status, _, _ = http("GET", presign("get_object", "interop/missing.bin"), ctx=ctx)
    check(status == 404, "GET of a missing key: %d" % status)
    status, _, _ = http("HEAD", s3.generate_presigned_url("head_object", Params=dict(Bucket=a.bucket, Key="interop/boto.bin")),
                        ctx=ctx)
    check(status == 200, "HEAD with a boto3 URL: %d" % status)

    # 2. Tern's URLs: the same bytes as boto3's for the same request and instant, and they work.
    with FrozenClock(a.fixed_time):
        boto_get = presign("get_object", a.tern_key, expires=a.expires)
    check(boto_get == a.tern_get_url, "Tern and boto3 presign the same GET:\n  tern  %s\n  boto3 %s" %
          (a.tern_get_url, boto_get))
    payload = b"signed by tern " * 1000
    sha = base64.b64encode(hashlib.sha256(payload).digest()).decode()
    status, _, _ = http("PUT", a.tern_put_url, payload, headers={"x-amz-checksum-sha256": sha}, ctx=ctx)
    check(status == 200, "PUT with Tern's URL: %d" % status)
    status, body, _ = http("GET", a.tern_get_url, ctx=ctx)
    check(status == 200 and body == payload, "GET with Tern's URL: %d" % status)
    status, body, _ = http("GET", presign("get_object", a.tern_key), ctx=ctx)
    check(status == 200 and body == payload, "boto3 reads what Tern's URL wrote: %d" % status)
    status, _, _ = http("PUT", a.tern_put_url, payload, ctx=ctx)
    check(status == 403, "Tern's PUT without its signed checksum header: %d" % status)
    status, _, _ = http("PUT", a.tern_put_url, b"other content", headers={"x-amz-checksum-sha256": sha}, ctx=ctx)
    check(status == 400, "Tern's PUT with other content: %d (BadDigest expected)" % status)

    # 3. Tampered and expired URLs.
    good = presign("get_object", "interop/boto.bin")
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    for name, url in [
        ("tampered signature", flipped),
        ("other key", good.replace("interop/boto.bin", "interop/boto.bim")),
        ("longer expiry", good.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")),
        ("no signature", good.split("&X-Amz-Signature=")[0]),
    ]:
        status, body, _ = http("GET", url, ctx=ctx)
        check(status == 403, "%s: %d" % (name, status))
    status, _, _ = http("DELETE", good, ctx=ctx)
    check(status == 403, "a GET URL used to DELETE: %d" % status)
    with FrozenClock(a.fixed_time - 7200):
        expired = presign("get_object", "interop/boto.bin", expires=60)
    status, body, _ = http("GET", expired, ctx=ctx)
    check(status == 403 and b"expired" in body, "expired URL: %d %r" % (status, body[:200]))

    # DELETE with a boto3 URL.
    status, _, _ = http("DELETE", presign("delete_object", "interop/boto.bin"), ctx=ctx)
    check(status == 204, "DELETE with a boto3 URL: %d" % status)
    status, _, _ = http("GET", presign("get_object", "interop/boto.bin"), ctx=ctx)
    check(status == 404, "GET after DELETE: %d" % status)
    print("ok %d checks" % checks)


if __name__ == "__main__":
    main()
