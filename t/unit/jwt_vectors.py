#!/usr/bin/python3
"""Keys and tokens for test_image_ingest_jwt, made by real libraries.

PyJWT (Debian's python3-jwt) signs the tokens, python3-cryptography makes
the keys; fresh ones each run.  Writes a C header of string constants:

    jwt_vectors.py OUT.h NOW

NOW is the time the tokens' exp/nbf are relative to (the C test passes
the same value to the verifier).  Run with /usr/bin/python3.
"""

import base64
import hashlib
import hmac
import json
import secrets
import sys

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk(algorithm, public, **extra):
    d = json.loads(algorithm.to_jwk(public))
    d.update(extra)
    return d


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


def hs256_by_hand(header, claims, secret):
    """HS256 over any bytes as the secret, e.g. a public key's PEM, which
    PyJWT rightly refuses to use: what an algorithm-confusion attacker
    sends."""
    signing = (b64url(compact(header).encode()) + "."
               + b64url(compact(claims).encode()))
    mac = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(mac)


def main():
    out, now = sys.argv[1], int(sys.argv[2])

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_other = rsa.generate_private_key(public_exponent=65537,
                                         key_size=2048)
    rsa_enc = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_small = rsa.generate_private_key(public_exponent=65537,
                                         key_size=1024)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_p384 = ec.generate_private_key(ec.SECP384R1())
    oct_secret = secrets.token_bytes(32)
    hs_secret = secrets.token_hex(24).encode()     # 48 printable bytes

    rsa_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)

    keys = [
        jwk(RSAAlgorithm, rsa_key.public_key(), kid="rsa1", alg="RS256",
            use="sig"),
        jwk(ECAlgorithm, ec_key.public_key(), kid="ec1", use="sig"),
        jwk(RSAAlgorithm, rsa_enc.public_key(), kid="enc1", use="enc",
            alg="RSA-OAEP"),
        jwk(ECAlgorithm, ec_p384.public_key(), kid="p384"),
        {"kty": "oct", "kid": "hs1", "alg": "HS256", "k": b64url(oct_secret)},
        {"kty": "OKP", "kid": "ed1", "crv": "Ed25519", "x": b64url(b"x" * 32)},
    ]

    claims = {"sub": "user-42", "iss": "https://id.example",
              "aud": "photos", "iat": now - 10, "nbf": now - 10,
              "exp": now + 600, "n": 42, "ratio": 0.1,
              "third": 1 / 3, "admin": True,
              "groups": ["a", "b"]}

    def with_(**kw):
        c = dict(claims)
        c.update(kw)
        return {k: v for k, v in c.items() if v is not None}

    rsa_priv = rsa_key
    v = {}
    v["jwks"] = compact({"keys": keys})
    v["jwks_rsa_only"] = compact({"keys": [keys[0]]})
    v["jwks_rsa_small"] = compact({"keys": [
        jwk(RSAAlgorithm, rsa_small.public_key(), kid="small")]})
    v["jwks_enc_only"] = compact({"keys": [keys[2], keys[3], keys[5]]})
    v["hs_secret_file"] = hs_secret.decode() + "\n"

    v["rs256_ok"] = jwt.encode(claims, rsa_priv, algorithm="RS256",
                               headers={"kid": "rsa1"})
    v["rs256_nokid"] = jwt.encode(claims, rsa_priv, algorithm="RS256")
    v["es256_ok"] = jwt.encode(with_(aud=["other", "photos"]), ec_key,
                               algorithm="ES256", headers={"kid": "ec1"})
    v["es256_nokid"] = jwt.encode(claims, ec_key, algorithm="ES256")
    v["hs256_ok"] = jwt.encode(claims, oct_secret, algorithm="HS256",
                               headers={"kid": "hs1"})
    v["hs256_file"] = jwt.encode(claims, hs_secret, algorithm="HS256")
    v["hs256_file_wrong"] = jwt.encode(claims, hs_secret + b"x",
                                       algorithm="HS256")

    v["expired"] = jwt.encode(with_(exp=now - 100), rsa_priv,
                              algorithm="RS256", headers={"kid": "rsa1"})
    v["not_yet"] = jwt.encode(with_(nbf=now + 100), rsa_priv,
                              algorithm="RS256", headers={"kid": "rsa1"})
    v["no_exp"] = jwt.encode(with_(exp=None), rsa_priv, algorithm="RS256",
                             headers={"kid": "rsa1"})
    v["exp_string"] = jwt.encode(with_(exp="tomorrow"), oct_secret,
                                 algorithm="HS256", headers={"kid": "hs1"})
    v["wrong_aud"] = jwt.encode(with_(aud="elsewhere"), rsa_priv,
                                algorithm="RS256", headers={"kid": "rsa1"})
    v["wrong_aud_list"] = jwt.encode(with_(aud=["a", "b"]), ec_key,
                                     algorithm="ES256",
                                     headers={"kid": "ec1"})
    v["wrong_iss"] = jwt.encode(with_(iss="https://evil.example"),
                                rsa_priv, algorithm="RS256",
                                headers={"kid": "rsa1"})
    v["wrong_key_rs"] = jwt.encode(claims, rsa_other, algorithm="RS256",
                                   headers={"kid": "rsa1"})
    v["wrong_key_es"] = jwt.encode(claims, ec.generate_private_key(
        ec.SECP256R1()), algorithm="ES256", headers={"kid": "ec1"})
    v["wrong_key_hs"] = jwt.encode(claims, secrets.token_bytes(32),
                                   algorithm="HS256", headers={"kid": "hs1"})
    v["unknown_kid"] = jwt.encode(claims, rsa_priv, algorithm="RS256",
                                  headers={"kid": "rotated-away"})
    v["alg_none"] = jwt.encode(claims, None, algorithm="none")
    v["alg_none_kid"] = jwt.encode(claims, None, algorithm="none",
                                   headers={"kid": "rsa1"})
    v["rs384"] = jwt.encode(claims, rsa_priv, algorithm="RS384",
                            headers={"kid": "rsa1"})
    v["hs256_rsa_kid"] = jwt.encode(claims, oct_secret, algorithm="HS256",
                                    headers={"kid": "rsa1"})
    v["confusion_kid"] = hs256_by_hand(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa1"}, claims, rsa_pem)
    v["confusion_nokid"] = hs256_by_hand(
        {"alg": "HS256", "typ": "JWT"}, claims, rsa_pem)
    # a payload with "aud" twice, signed with the oct key
    dup = ('{"sub":"user-42","aud":"elsewhere","aud":"photos","exp":%d}'
           % (now + 600))
    signing = (b64url(compact({"alg": "HS256", "kid": "hs1"}).encode())
               + "." + b64url(dup.encode()))
    v["dup_claim"] = signing + "." + b64url(
        hmac.new(oct_secret, signing.encode(), hashlib.sha256).digest())

    with open(out, "w") as f:
        f.write("/* made by t/unit/jwt_vectors.py: do not edit */\n")
        f.write("#define JWT_NOW %dLL\n" % now)
        for name, value in v.items():
            f.write("static const char jwt_%s[] = %s;\n"
                    % (name, json.dumps(value)))


if __name__ == "__main__":
    main()
