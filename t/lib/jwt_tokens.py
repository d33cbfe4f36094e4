#!/usr/bin/python3
"""Keys and tokens for t/066-image-ingest-jwt.t, made by real libraries.

    jwt_tokens.py DIR NOW

Writes DIR/jwks.json (RSA "rsa1", EC P-256 "ec1", and an encryption key
that must be skipped), DIR/jwks-rotated.json (RSA "rsa2" in place of
"rsa1") and DIR/hs256.secret, fresh keys each run (python3-cryptography),
then prints a JSON object of tokens signed by PyJWT (Debian's
python3-jwt), exp/nbf relative to NOW.  Run with /usr/bin/python3.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def jwk(algorithm, public, **extra):
    d = json.loads(algorithm.to_jwk(public))
    d.update(extra)
    return d


def by_hand(header, claims, secret):
    """HS256 with any bytes as the secret (PyJWT refuses a PEM)."""
    signing = (b64url(compact(header).encode()) + "."
               + b64url(compact(claims).encode()))
    mac = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(mac)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    out, now = sys.argv[1], int(sys.argv[2])

    rsa1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    enc = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec1 = ec.generate_private_key(ec.SECP256R1())
    secret = secrets.token_hex(24).encode()

    pem = rsa1.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)

    ec_jwk = jwk(ECAlgorithm, ec1.public_key(), kid="ec1", use="sig")
    enc_jwk = jwk(RSAAlgorithm, enc.public_key(), kid="enc1", use="enc",
                  alg="RSA-OAEP")

    write(os.path.join(out, "jwks.json"), json.dumps({"keys": [
        jwk(RSAAlgorithm, rsa1.public_key(), kid="rsa1", alg="RS256",
            use="sig"), ec_jwk, enc_jwk]}, indent=1))
    write(os.path.join(out, "jwks-rotated.json"), json.dumps({"keys": [
        jwk(RSAAlgorithm, rsa2.public_key(), kid="rsa2", alg="RS256",
            use="sig"), ec_jwk]}, indent=1))
    write(os.path.join(out, "hs256.secret"), secret.decode() + "\n")

    claims = {"sub": "user-42", "iss": "https://id.example",
              "aud": "photos", "iat": now - 10, "nbf": now - 10,
              "exp": now + 600, "uid": 4711, "name": "Ada L.", "orgId": "acme",
              "admin": True}

    def c(**kw):
        d = dict(claims)
        d.update(kw)
        return {k: v for k, v in d.items() if v is not None}

    def rs(cl, key=rsa1, kid="rsa1"):
        return jwt.encode(cl, key, algorithm="RS256", headers={"kid": kid})

    t = {
        "rs256": rs(claims),
        "es256": jwt.encode(c(sub="user-ec", aud=["x", "photos"]), ec1,
                            algorithm="ES256", headers={"kid": "ec1"}),
        "hs256": jwt.encode(c(sub="user-hs"), secret, algorithm="HS256"),
        "hs256_wrong": jwt.encode(c(sub="user-hs"), secret + b"x",
                                  algorithm="HS256"),
        "expired": rs(c(exp=now - 600)),
        "expired_30s": rs(c(sub="user-late", exp=now - 30)),
        "not_yet": rs(c(nbf=now + 600)),
        "not_yet_30s": rs(c(sub="user-early", nbf=now + 30)),
        "no_exp": rs(c(exp=None)),
        "wrong_aud": rs(c(aud="elsewhere")),
        "wrong_iss": rs(c(iss="https://evil.example")),
        "no_aud": rs(c(aud=None)),
        "wrong_key": rs(claims, key=other),
        "alg_none": jwt.encode(claims, None, algorithm="none"),
        "confusion": by_hand({"alg": "HS256", "typ": "JWT", "kid": "rsa1"},
                             claims, pem),
        "rotated_old": rs(c(sub="user-old")),
        "rotated_new": rs(c(sub="user-new"), key=rsa2, kid="rsa2"),
        "ctl": rs(c(name="a\r\nX-Evil: 1")),
    }

    print(json.dumps(t))


if __name__ == "__main__":
    main()
