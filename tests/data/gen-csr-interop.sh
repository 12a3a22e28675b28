#!/usr/bin/env bash
# Regenerates tests/data/csr-interop/: certificate signing requests made by four independent
# tools (OpenSSL, GnuTLS certtool, Java keytool, Python cryptography) for every key type the
# service accepts (RSA 2048..8192, EC P-256/P-384, Ed25519; signer/sgn_spki.c, sgn_csr.c) and
# some it refuses (RSA-1024, P-521, secp256k1, Ed448, too many SANs), with SAN variants (DNS, IP,
# URI, email, none, many), the legacy "NEW CERTIFICATE REQUEST" PEM label, CRLF line endings
# and DER. manifest.json is written by reading each generated file back (Python cryptography):
# tool, key type, subject, SANs, label, line endings, and the outcome the tests expect.
#
# The files are committed; the tests never run this script. Usage:
#   tests/data/gen-csr-interop.sh [OUTPUT_DIR]     (default: tests/data/csr-interop)
# Needs openssl, certtool (gnutls-bin), keytool (a JDK: default-jdk-headless, installed with
# apt-get when missing and run as root) and /usr/bin/python3 with python3-cryptography. The
# private keys live only in a temporary directory, removed on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/csr-interop}
py=/usr/bin/python3

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >&2
        command -v "$1" >/dev/null 2>&1 && return 0
    fi
    echo "gen-csr-interop: $1 is missing (Debian package $2)" >&2
    exit 1
}
need openssl openssl
need certtool gnutls-bin
need keytool default-jdk-headless
$py -c 'import cryptography' 2>/dev/null || need python3-cryptography-module python3-cryptography

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/csr"
spec=$work/spec.tsv
: >"$spec"

# entry FILE TOOL KEY_TYPE EXPECT ERROR NOTES: one line of the manifest's input. EXPECT is
# "accept" or "refuse"; ERROR is the hs_code name sgn_csr_parse() fails with (refusals only).
entry() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$spec"
}

# --- OpenSSL ----------------------------------------------------------------------------------
# ossl FILE NEWKEY SUBJECT SAN|- [extra req options]: a CSR by `openssl req -new -newkey`.
ossl() {
    local file=$1 newkey=$2 subj=$3 san=$4
    shift 4
    local args=(req -new -nodes -newkey "$newkey" -keyout "$work/key-$file" -subj "$subj")
    [ "$san" = - ] || args+=(-addext "subjectAltName=$san")
    openssl "${args[@]}" "$@" -out "$work/csr/$file" 2>/dev/null
}
o=openssl.corpus.example
ossl openssl_rsa2048_dns.pem rsa:2048 "/CN=rsa2048.$o/O=Corpus Test" "DNS:rsa2048.$o,DNS:www.rsa2048.$o"
entry openssl_rsa2048_dns.pem openssl RSA-2048 accept - "two DNS SANs, sha256WithRSAEncryption"
ossl openssl_rsa3072_ip.pem rsa:3072 "/CN=rsa3072.$o" "IP:192.0.2.30,IP:2001:db8::30" -sha384
entry openssl_rsa3072_ip.pem openssl RSA-3072 accept - "IPv4 and IPv6 SANs, sha384WithRSAEncryption"
ossl openssl_rsa4096.pem rsa:4096 "/CN=rsa4096.$o" - -sha512
entry openssl_rsa4096.pem openssl RSA-4096 accept - "no SAN, sha512WithRSAEncryption"
# ec_req FILE CURVE SUBJECT SAN|- [options]: the same with an EC key on CURVE.
ec_req() {
    local file=$1 curve=$2 subj=$3 san=$4
    shift 4
    local args=(req -new -nodes -newkey ec -pkeyopt "ec_paramgen_curve:$curve"
        -keyout "$work/key-$file" -subj "$subj")
    [ "$san" = - ] || args+=(-addext "subjectAltName=$san")
    openssl "${args[@]}" "$@" -out "$work/csr/$file" 2>/dev/null
}
ec_req openssl_p256_uri.pem P-256 "/CN=p256.$o" "URI:spiffe://corpus.example/openssl,DNS:p256.$o"
entry openssl_p256_uri.pem openssl "EC P-256" accept - "URI (SPIFFE) and DNS SANs"
ec_req openssl_p384_email.pem P-384 "/CN=p384.$o/emailAddress=p384@corpus.example" \
    "email:p384@corpus.example" -sha384
entry openssl_p384_email.pem openssl "EC P-384" accept - "email SAN, emailAddress in the subject, ecdsa-with-SHA384"
ossl openssl_ed25519.pem ed25519 "/CN=ed25519.$o" "DNS:ed25519.$o"
entry openssl_ed25519.pem openssl Ed25519 accept - "DNS SAN"
many=""
for i in $(seq 1 40); do many+="DNS:n$i.many.$o,"; done
for i in $(seq 1 8); do many+="IP:198.51.100.$i,"; done
many+="URI:https://many.$o/,email:many@corpus.example"
ec_req openssl_p256_many_sans.pem P-256 "/CN=many.$o" "$many"
entry openssl_p256_many_sans.pem openssl "EC P-256" accept - "50 SANs: 40 DNS, 8 IP, one URI, one email"
ec_req openssl_p256_no_cn.pem P-256 "/O=Corpus Test" "DNS:no-cn.$o"
entry openssl_p256_no_cn.pem openssl "EC P-256" accept - "no commonName, the name only in a DNS SAN"
# CRLF line endings throughout, and the legacy label, from an OpenSSL CSR.
ec_req crlf.tmp P-256 "/CN=crlf.$o" "DNS:crlf.$o"
sed 's/$/\r/' "$work/csr/crlf.tmp" >"$work/csr/openssl_p256_crlf.pem"
rm "$work/csr/crlf.tmp"
entry openssl_p256_crlf.pem openssl "EC P-256" accept - "CRLF line endings throughout"
ossl legacy.tmp rsa:2048 "/CN=legacy.$o" "DNS:legacy.$o"
sed 's/CERTIFICATE REQUEST-----/NEW CERTIFICATE REQUEST-----/' "$work/csr/legacy.tmp" \
    >"$work/csr/openssl_rsa2048_legacy_label.pem"
rm "$work/csr/legacy.tmp"
entry openssl_rsa2048_legacy_label.pem openssl RSA-2048 accept - "the legacy NEW CERTIFICATE REQUEST label"
# DER: the service takes PEM only; the tests wrap these in a CERTIFICATE REQUEST block.
ec_req openssl_p256_der.der P-256 "/CN=der-p256.$o" "DNS:der-p256.$o" -outform DER
entry openssl_p256_der.der openssl "EC P-256" accept - "DER; accepted once wrapped in PEM, refused as raw bytes"
ossl openssl_rsa2048_der.der rsa:2048 "/CN=der-rsa2048.$o" - -outform DER
entry openssl_rsa2048_der.der openssl RSA-2048 accept - "DER; accepted once wrapped in PEM, refused as raw bytes"
# Refused keys and names.
ossl openssl_rsa1024.pem rsa:1024 "/CN=rsa1024.$o" "DNS:rsa1024.$o"
entry openssl_rsa1024.pem openssl RSA-1024 refuse HS_ERR_INPUT_KEY "RSA below 2048 bits"
ec_req openssl_p521.pem P-521 "/CN=p521.$o" "DNS:p521.$o" -sha512
entry openssl_p521.pem openssl "EC P-521" refuse HS_ERR_INPUT_KEY "curve not accepted"
ec_req openssl_secp256k1.pem secp256k1 "/CN=k256.$o" "DNS:k256.$o"
entry openssl_secp256k1.pem openssl "EC secp256k1" refuse HS_ERR_INPUT_KEY "curve not accepted"
ossl openssl_ed448.pem ed448 "/CN=ed448.$o" "DNS:ed448.$o"
entry openssl_ed448.pem openssl Ed448 refuse HS_ERR_INPUT_KEY "key algorithm not accepted"
too_many=""
for i in $(seq 1 100); do too_many+="DNS:n$i.too-many.$o,"; done
too_many+="DNS:n101.too-many.$o"
ec_req openssl_p256_101_sans.pem P-256 "/CN=too-many.$o" "$too_many"
entry openssl_p256_101_sans.pem openssl "EC P-256" refuse HS_ERR_INPUT_CSR "101 SANs, one more than SGN_SAN_MAX"

# --- GnuTLS certtool --------------------------------------------------------------------------
# gnutls FILE KEYOPTS TEMPLATE_LINES: certtool --generate-request with a template.
gnutls() {
    local file=$1 keyopts=$2 tmpl=$3
    # shellcheck disable=SC2086 # keyopts are words
    certtool --generate-privkey $keyopts --outfile "$work/key-$file" 2>/dev/null
    printf '%s\n' "$tmpl" >"$work/tmpl-$file"
    certtool --generate-request --load-privkey "$work/key-$file" --template "$work/tmpl-$file" \
        --outfile "$work/csr/$file" 2>/dev/null
}
g=certtool.corpus.example
gnutls certtool_rsa2048_san.pem "--key-type rsa --bits 2048" "cn = \"rsa2048.$g\"
organization = \"Corpus Test\"
country = DE
dns_name = \"rsa2048.$g\"
dns_name = \"alt.rsa2048.$g\"
tls_www_server
signing_key
encryption_key"
entry certtool_rsa2048_san.pem certtool RSA-2048 accept - "DNS SANs, keyUsage, EKU serverAuth"
gnutls certtool_rsa3072.pem "--key-type rsa --bits 3072" "cn = \"rsa3072.$g\""
entry certtool_rsa3072.pem certtool RSA-3072 accept - "CN only"
gnutls certtool_rsa4096_email.pem "--key-type rsa --bits 4096" "cn = \"rsa4096.$g\"
email = \"rsa4096@corpus.example\"
tls_www_client"
entry certtool_rsa4096_email.pem certtool RSA-4096 accept - "email SAN, EKU clientAuth"
gnutls certtool_p256_san.pem "--key-type ecdsa --curve secp256r1" "cn = \"p256.$g\"
dns_name = \"p256.$g\"
ip_address = \"192.0.2.20\"
tls_www_client"
entry certtool_p256_san.pem certtool "EC P-256" accept - "DNS and IP SANs, EKU clientAuth"
gnutls certtool_p384.pem "--key-type ecdsa --curve secp384r1" "cn = \"p384.$g\"
organization = \"Corpus Test\""
entry certtool_p384.pem certtool "EC P-384" accept - "CN and O, no SAN"
gnutls certtool_ed25519_san.pem "--key-type ed25519" "cn = \"ed25519.$g\"
dns_name = \"ed25519.$g\"
uri = \"spiffe://corpus.example/certtool\""
entry certtool_ed25519_san.pem certtool Ed25519 accept - "DNS and URI SANs"
gnutls certtool_rsa1024.pem "--key-type rsa --bits 1024" "cn = \"rsa1024.$g\""
entry certtool_rsa1024.pem certtool RSA-1024 refuse HS_ERR_INPUT_KEY "RSA below 2048 bits"
gnutls certtool_p521.pem "--key-type ecdsa --curve secp521r1" "cn = \"p521.$g\""
entry certtool_p521.pem certtool "EC P-521" refuse HS_ERR_INPUT_KEY "curve not accepted"

# --- Java keytool -----------------------------------------------------------------------------
# jks FILE KEYOPTS DNAME EXT|- : keytool -genkeypair into a throwaway PKCS#12 store, then
# -certreq. The store password comes from the environment (-storepass:env), not the command line.
export HS_GEN_STOREPASS
HS_GEN_STOREPASS=$(head -c 18 /dev/urandom | base64)
jks() {
    local file=$1 keyopts=$2 dname=$3 ext=$4 store="$work/ks-$1.p12"
    # shellcheck disable=SC2086 # keyopts are words
    keytool -genkeypair -alias k $keyopts -dname "$dname" -validity 2 -storetype PKCS12 \
        -keystore "$store" -storepass:env HS_GEN_STOREPASS -keypass:env HS_GEN_STOREPASS \
        >/dev/null 2>&1
    local args=(-certreq -alias k -keystore "$store" -storepass:env HS_GEN_STOREPASS
        -file "$work/csr/$file")
    [ "$ext" = - ] || args+=(-ext "$ext")
    keytool "${args[@]}" >/dev/null 2>&1
}
k=keytool.corpus.example
jks keytool_rsa2048.pem "-keyalg RSA -keysize 2048 -sigalg SHA256withRSA" "CN=rsa2048-plain.$k" -
entry keytool_rsa2048.pem keytool RSA-2048 accept - "no -ext (keytool adds a SubjectKeyIdentifier)"
jks keytool_rsa2048_san.pem "-keyalg RSA -keysize 2048 -sigalg SHA256withRSA" \
    "CN=rsa2048.$k, OU=keytool, O=Corpus Test, C=DE" "SAN=dns:rsa2048.$k,dns:www.rsa2048.$k"
entry keytool_rsa2048_san.pem keytool RSA-2048 accept - "DNS SANs via -ext"
jks keytool_rsa3072_uri.pem "-keyalg RSA -keysize 3072 -sigalg SHA384withRSA" "CN=rsa3072.$k" \
    "SAN=uri:spiffe://corpus.example/keytool,email:rsa3072@corpus.example"
entry keytool_rsa3072_uri.pem keytool RSA-3072 accept - "URI and email SANs"
jks keytool_rsa4096.pem "-keyalg RSA -keysize 4096 -sigalg SHA256withRSA" "CN=rsa4096.$k" -
entry keytool_rsa4096.pem keytool RSA-4096 accept - "no SAN"
jks keytool_p256_san.pem "-keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA" \
    "CN=p256.$k, O=Corpus Test" "SAN=dns:p256.$k,ip:192.0.2.50"
entry keytool_p256_san.pem keytool "EC P-256" accept - "DNS and IP SANs"
jks keytool_p384.pem "-keyalg EC -groupname secp384r1 -sigalg SHA384withECDSA" "CN=p384.$k" -
entry keytool_p384.pem keytool "EC P-384" accept - "no SAN, SHA384withECDSA"
jks keytool_ed25519.pem "-keyalg Ed25519" "CN=ed25519.$k" -
entry keytool_ed25519.pem keytool Ed25519 accept - "no SAN"
jks keytool_rsa1024.pem "-keyalg RSA -keysize 1024 -sigalg SHA256withRSA" "CN=rsa1024.$k" -
entry keytool_rsa1024.pem keytool RSA-1024 refuse HS_ERR_INPUT_KEY "RSA below 2048 bits"
jks keytool_p521.pem "-keyalg EC -groupname secp521r1 -sigalg SHA512withECDSA" "CN=p521.$k" -
entry keytool_p521.pem keytool "EC P-521" refuse HS_ERR_INPUT_KEY "curve not accepted"

# --- Python cryptography ----------------------------------------------------------------------
$py - "$work/csr" "$spec" <<'PY'
import ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

outdir, spec = sys.argv[1], sys.argv[2]
d = "pyca.corpus.example"

def rsa_key(bits):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)

def name(*pairs):
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])

def make(file, key, subject, sans=None, extra=(), hash_alg=hashes.SHA256(), key_type="",
         expect="accept", error="-", notes=""):
    b = x509.CertificateSigningRequestBuilder().subject_name(subject)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    for ext, critical in extra:
        b = b.add_extension(ext, critical=critical)
    is_ed = isinstance(key, ed25519.Ed25519PrivateKey)
    csr = b.sign(key, None if is_ed else hash_alg)
    with open(f"{outdir}/{file}", "wb") as f:
        f.write(csr.public_bytes(serialization.Encoding.PEM))
    with open(spec, "a") as f:
        f.write("\t".join([file, "pyca", key_type, expect, error, notes]) + "\n")

ku = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                   data_encipherment=False, key_agreement=False, key_cert_sign=False,
                   crl_sign=False, encipher_only=False, decipher_only=False)
make("pyca_rsa2048_san.pem", rsa_key(2048),
     name((NameOID.ORGANIZATIONAL_UNIT_NAME, "pyca"), (NameOID.ORGANIZATION_NAME, "Corpus Test"),
          (NameOID.COMMON_NAME, f"rsa2048.{d}")),
     [x509.DNSName(f"rsa2048.{d}"), x509.RFC822Name("client@corpus.example")],
     [(ku, True), (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)],
     key_type="RSA-2048", notes="DNS and email SANs, keyUsage, EKU clientAuth; CN last in the subject")
make("pyca_rsa3072.pem", rsa_key(3072), name((NameOID.COMMON_NAME, f"rsa3072.{d}")),
     key_type="RSA-3072", notes="CN only, no extensions")
make("pyca_rsa4096_ip6.pem", rsa_key(4096), name((NameOID.COMMON_NAME, f"rsa4096.{d}")),
     [x509.IPAddress(ipaddress.ip_address("2001:db8::4096"))], hash_alg=hashes.SHA512(),
     key_type="RSA-4096", notes="one IPv6 SAN, sha512WithRSAEncryption")
make("pyca_p256_san.pem", ec.generate_private_key(ec.SECP256R1()),
     name((NameOID.COMMON_NAME, f"p256.{d}")),
     [x509.DNSName(f"p256.{d}"), x509.DNSName(f"*.p256.{d}"),
      x509.IPAddress(ipaddress.ip_address("198.51.100.7"))],
     key_type="EC P-256", notes="DNS (one a wildcard) and IPv4 SANs")
make("pyca_p384.pem", ec.generate_private_key(ec.SECP384R1()),
     name((NameOID.COMMON_NAME, f"p384-plain.{d}")), key_type="EC P-384",
     notes="CN only, no extensions")
make("pyca_p384_san.pem", ec.generate_private_key(ec.SECP384R1()),
     name((NameOID.COMMON_NAME, f"p384.{d}")), [x509.DNSName(f"p384.{d}")],
     [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)],
     hash_alg=hashes.SHA384(), key_type="EC P-384", notes="DNS SAN and EKU serverAuth")
make("pyca_ed25519.pem", ed25519.Ed25519PrivateKey.generate(),
     name((NameOID.COMMON_NAME, f"ed25519-plain.{d}")), key_type="Ed25519", notes="CN only")
make("pyca_ed25519_san.pem", ed25519.Ed25519PrivateKey.generate(),
     name((NameOID.COMMON_NAME, f"ed25519.{d}")),
     [x509.DNSName(f"ed25519.{d}"), x509.UniformResourceIdentifier("spiffe://corpus.example/pyca")],
     key_type="Ed25519", notes="DNS and URI SANs")
make("pyca_rsa1024.pem", rsa_key(1024), name((NameOID.COMMON_NAME, f"rsa1024.{d}")),
     key_type="RSA-1024", expect="refuse", error="HS_ERR_INPUT_KEY", notes="RSA below 2048 bits")
make("pyca_p521.pem", ec.generate_private_key(ec.SECP521R1()),
     name((NameOID.COMMON_NAME, f"p521.{d}")), hash_alg=hashes.SHA512(), key_type="EC P-521",
     expect="refuse", error="HS_ERR_INPUT_KEY", notes="curve not accepted")
PY

# --- manifest ---------------------------------------------------------------------------------
versions=$(printf '%s\t%s\t%s\t%s' "$(openssl version | cut -d' ' -f1-2)" \
    "$(certtool --version | head -1)" "$(java -version 2>&1 | head -1)" \
    "cryptography $($py -c 'import cryptography; print(cryptography.__version__)')")
$py - "$work/csr" "$spec" "$versions" <<'PY'
import json, os, sys
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

csrdir, spec, versions = sys.argv[1], sys.argv[2], sys.argv[3].split("\t")
tools = {
    "openssl": ("OpenSSL req", versions[0]),
    "certtool": ("GnuTLS certtool --generate-request", versions[1]),
    "keytool": ("Java keytool -certreq", "keytool of " + versions[2]),
    "pyca": ("python3-cryptography (/usr/bin/python3)", versions[3]),
}

def key_type(pub):
    if isinstance(pub, rsa.RSAPublicKey):
        return f"RSA-{pub.key_size}"
    if isinstance(pub, ec.EllipticCurvePublicKey):
        names = {"secp256r1": "EC P-256", "secp384r1": "EC P-384", "secp521r1": "EC P-521"}
        return names.get(pub.curve.name, "EC " + pub.curve.name)
    if isinstance(pub, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(pub, ed448.Ed448PublicKey):
        return "Ed448"
    raise SystemExit("unknown key type")

# The public error names (common/hs_err.c) the service answers refusals with.
api_errors = {"HS_ERR_INPUT_KEY": "unsupported_key", "HS_ERR_INPUT_CSR": "invalid_csr"}
entries = []
seen = set()
for line in open(spec):
    file, tool, want_type, expect, error, notes = line.rstrip("\n").split("\t")
    seen.add(file)
    raw = open(os.path.join(csrdir, file), "rb").read()
    der = file.endswith(".der")
    csr = x509.load_der_x509_csr(raw) if der else x509.load_pem_x509_csr(raw)
    got_type = key_type(csr.public_key())
    if got_type != want_type:
        raise SystemExit(f"{file}: key type {got_type}, the generator meant {want_type}")
    if not csr.is_signature_valid:
        raise SystemExit(f"{file}: signature does not verify")
    sans = {}
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for kind, cls in (("dns", x509.DNSName), ("ip", x509.IPAddress), ("email", x509.RFC822Name),
                          ("uri", x509.UniformResourceIdentifier)):
            vals = [str(v) for v in san.get_values_for_type(cls)]
            if vals:
                sans[kind] = vals
    except x509.ExtensionNotFound:
        pass
    cn = [a.value for a in csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
    text = raw.decode("ascii") if not der else ""
    crlf, lf = text.count("\r\n"), text.count("\n")
    entries.append({
        "file": file,
        "tool": tools[tool][0],
        "tool_version": tools[tool][1],
        "key_type": got_type,
        "signature_algorithm": csr.signature_algorithm_oid._name,
        "format": "der" if der else "pem",
        "pem_label": None if der else text.split("-----BEGIN ", 1)[1].split("-----", 1)[0],
        "line_endings": None if der else ("CRLF" if crlf == lf else ("LF" if crlf == 0 else "mixed CRLF/LF")),
        "subject": csr.subject.rfc4514_string(),
        "cn": cn[0] if cn else None,
        "sans": sans,
        "extensions": [e.oid._name for e in csr.extensions],
        "expect": expect,
        "error": None if error == "-" else error,
        "api_error": api_errors[error] if error != "-" else None,
        "notes": notes,
    })
extra = set(os.listdir(csrdir)) - seen
if extra:
    raise SystemExit(f"files without a manifest entry: {sorted(extra)}")
doc = {
    "what": "CSRs made by independent tools, generated by tests/data/gen-csr-interop.sh. "
            "expect=accept: sgn_csr_parse() and POST /v1/certificates accept it with the cn "
            "and sans listed; expect=refuse: both refuse it, sgn_csr_parse() with error, the service with 400 and "
            "api_error. "
            "format=der: the service takes PEM, so tests wrap DER in a CERTIFICATE REQUEST block "
            "(and check the raw bytes are refused with HS_ERR_INPUT_CSR).",
    "entries": sorted(entries, key=lambda e: e["file"]),
}
with open(os.path.join(csrdir, "manifest.json"), "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
PY

# Replace the output directory's CSRs and manifest (README.md stays).
mkdir -p "$out"
find "$out" -maxdepth 1 \( -name '*.pem' -o -name '*.der' -o -name manifest.json \) -delete
cp "$work"/csr/* "$out"/
echo "gen-csr-interop: $(($(find "$out" -name '*.pem' -o -name '*.der' | wc -l))) CSRs in $out" >&2
