"""Invoke a function through nginx with Debian's boto3, as the site does.

Run with /usr/bin/python3 (Debian's python3-boto3).  Prints one JSON
line: the response ({"status", "function_error", "version", "payload",
"request_id"}) or the error boto3 raised ({"error": {"code", "message",
"status", "request_id"}}), and how many HTTP attempts it made.

    lambda_client.py --endpoint http://127.0.0.1:PORT --function NAME
        [--type Event|RequestResponse|DryRun] [--payload JSON]
        [--qualifier Q] [--key ID --secret S] [--region R]
        [--retry-mode legacy|standard] [--attempts N]
        [--clock-offset SECONDS] [--tamper-body]

--clock-offset signs with the client's clock moved by that many seconds
(botocore's signer reads datetime.datetime.utcnow(); the test replaces
it here, in the client, so nothing in nginx is weakened); --tamper-body
changes the body after it was signed.
"""

import argparse
import datetime
import json
import sys

import boto3
import botocore.auth
import botocore.config
import botocore.exceptions


def shift_clock(seconds):
    real = datetime.datetime
    delta = datetime.timedelta(seconds=seconds)

    class Shifted(real):
        @classmethod
        def utcnow(cls):
            return real.utcnow() + delta

    class Module:
        pass

    Module.datetime = Shifted
    Module.timedelta = datetime.timedelta
    botocore.auth.datetime = Module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--function", required=True)
    ap.add_argument("--type")
    ap.add_argument("--payload", default="{}")
    ap.add_argument("--qualifier")
    ap.add_argument("--key", default="AKIDNOTCHECKED")
    ap.add_argument("--secret", default="not-checked")
    ap.add_argument("--region", default="eu-west-1")
    ap.add_argument("--retry-mode", default="legacy")
    ap.add_argument("--attempts", type=int, default=0)
    ap.add_argument("--clock-offset", type=int, default=0)
    ap.add_argument("--tamper-body", action="store_true")
    ap.add_argument("--timeout", type=int, default=60)
    a = ap.parse_args()

    if a.clock_offset:
        shift_clock(a.clock_offset)

    retries = {"mode": a.retry_mode}
    if a.attempts:
        retries["total_max_attempts"] = a.attempts

    client = boto3.client(
        "lambda", endpoint_url=a.endpoint, region_name=a.region,
        aws_access_key_id=a.key, aws_secret_access_key=a.secret,
        config=botocore.config.Config(retries=retries,
                                      read_timeout=a.timeout,
                                      connect_timeout=5))

    sent = []

    def count(request, **kwargs):
        sent.append(1)
        if a.tamper_body and request.body:
            body = request.body
            if isinstance(body, str):
                body = body.encode()
            request.body = body.replace(b"}", b" }", 1)
            request.headers["Content-Length"] = str(len(request.body))

    client.meta.events.register("before-send.lambda.Invoke", count)

    kw = {"FunctionName": a.function, "Payload": a.payload.encode()}
    if a.type:
        kw["InvocationType"] = a.type
    if a.qualifier:
        kw["Qualifier"] = a.qualifier

    try:
        r = client.invoke(**kw)
        meta = r["ResponseMetadata"]
        out = {
            "status": r["StatusCode"],
            "function_error": r.get("FunctionError"),
            "version": r.get("ExecutedVersion"),
            "payload": r["Payload"].read().decode("utf-8", "replace"),
            "request_id": meta.get("RequestId"),
        }
    except botocore.exceptions.ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        out = {"error": {
            "code": e.response["Error"].get("Code"),
            "message": e.response["Error"].get("Message"),
            "status": meta.get("HTTPStatusCode"),
            "request_id": meta.get("RequestId"),
        }}

    out["attempts"] = len(sent)
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
