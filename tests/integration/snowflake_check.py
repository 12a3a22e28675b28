#!/usr/bin/python3
"""Checks a token as Snowflake's External OAuth custom authorization server integration does
(docs/snowflake.md; Snowflake, "Configure custom authorization servers for External OAuth" and
"CREATE SECURITY INTEGRATION (External OAuth)"), with PyJWT (python3-jwt):

  - the JWS signature, RS256 only, with the key of the JWKS (EXTERNAL_OAUTH_JWS_KEYS_URL) whose
    kid is the header's;
  - iss equal to EXTERNAL_OAUTH_ISSUER, aud in EXTERNAL_OAUTH_AUDIENCE_LIST;
  - exp, iat required (nbf honoured when present), no leeway;
  - scp (EXTERNAL_OAUTH_SCOPE_MAPPING_ATTRIBUTE) a list of scopes, each "session:role:ROLE";
  - sub (EXTERNAL_OAUTH_TOKEN_USER_MAPPING_CLAIM) the user's login name.

usage: snowflake_check.py TOKEN_FILE JWKS_FILE ISSUER AUDIENCE EXPECTED_SUB EXPECTED_ROLE
Prints "ok sub=... role=..." and exits 0, or prints why and exits 1.
"""
import json
import re
import sys

import jwt

ROLE = re.compile(r"^session:role:([A-Za-z0-9_$]+)$")


def main(argv):
    token_file, jwks_file, issuer, audience, want_sub, want_role = argv[1:7]
    token = open(token_file).read().strip()
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "RS256":
        return f"alg {header.get('alg')!r}, Snowflake takes RS256"
    keys = {k["kid"]: k for k in json.load(open(jwks_file))["keys"]}
    jwk = keys.get(header.get("kid"))
    if jwk is None:
        return f"kid {header.get('kid')!r} is not in the JWKS"
    if jwk.get("kty") != "RSA":
        return "the kid's key is not an RSA key"
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=[audience], issuer=issuer,
                        options={"require": ["exp", "iat", "iss", "aud", "sub"],
                                 "verify_exp": True, "verify_nbf": True, "verify_iat": True})
    scp = claims.get("scp")
    if not isinstance(scp, list) or not scp:
        return f"scp must be a non-empty list of scopes, got {scp!r}"
    roles = []
    for s in scp:
        m = ROLE.match(s) if isinstance(s, str) else None
        if m is None:
            return f"scope {s!r} is not session:role:ROLE"
        roles.append(m.group(1))
    if want_role not in roles:
        return f"role {want_role} not among {roles}"
    if claims["sub"] != want_sub:
        return f"sub {claims['sub']!r}, expected {want_sub!r}"
    print(f"ok sub={claims['sub']} role={want_role}")
    return None


if __name__ == "__main__":
    try:
        why = main(sys.argv)
    except jwt.PyJWTError as e:
        why = f"PyJWT refused the token: {type(e).__name__}: {e}"
    if why is not None:
        print(why)
        sys.exit(1)
