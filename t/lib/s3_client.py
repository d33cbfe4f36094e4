"""Calls a test's S3 server with Debian's boto3 (run with /usr/bin/python3).

Prints one JSON line: {"ok": true, ...} or {"ok": false, "error": ...}.

    s3_client.py --endpoint URL --key ID --secret S [--region R] OP ARGS
        mkbucket BUCKET
        put BUCKET KEY FILE [--content-type T]
        get BUCKET KEY          ({"body_hex", "etag"})
        list BUCKET [PREFIX]    ({"keys": [...]})
        delete BUCKET KEY
"""

import argparse
import json
import sys

import boto3
import botocore.config
import botocore.exceptions


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--endpoint', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--secret', required=True)
    ap.add_argument('--region', default='us-east-1')
    ap.add_argument('--content-type')
    ap.add_argument('op')
    ap.add_argument('args', nargs='*')
    a = ap.parse_args()

    s3 = boto3.client(
        's3', endpoint_url=a.endpoint, aws_access_key_id=a.key,
        aws_secret_access_key=a.secret, region_name=a.region,
        config=botocore.config.Config(
            s3={'addressing_style': 'path'},
            retries={'max_attempts': 2, 'mode': 'standard'}))

    out = {'ok': True}
    try:
        if a.op == 'mkbucket':
            try:
                s3.create_bucket(Bucket=a.args[0])
            except s3.exceptions.BucketAlreadyOwnedByYou:
                pass
        elif a.op == 'put':
            extra = {}
            if a.content_type:
                extra['ContentType'] = a.content_type
            with open(a.args[2], 'rb') as f:
                r = s3.put_object(Bucket=a.args[0], Key=a.args[1],
                                  Body=f.read(), **extra)
            out['etag'] = r['ETag']
        elif a.op == 'get':
            r = s3.get_object(Bucket=a.args[0], Key=a.args[1])
            out['body_hex'] = r['Body'].read().hex()
            out['etag'] = r['ETag']
        elif a.op == 'list':
            prefix = a.args[1] if len(a.args) > 1 else ''
            keys = []
            for page in s3.get_paginator('list_objects_v2').paginate(
                    Bucket=a.args[0], Prefix=prefix):
                keys += [o['Key'] for o in page.get('Contents', [])]
            out['keys'] = keys
        elif a.op == 'delete':
            s3.delete_object(Bucket=a.args[0], Key=a.args[1])
        else:
            out = {'ok': False, 'error': 'unknown op ' + a.op}
    except botocore.exceptions.ClientError as e:
        out = {'ok': False, 'error': e.response.get('Error', {}),
               'status': e.response.get('ResponseMetadata', {})
                                       .get('HTTPStatusCode')}
    except Exception as e:  # noqa: BLE001 (reported to the test)
        out = {'ok': False, 'error': repr(e)}

    print(json.dumps(out))
    return 0 if out['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
