#!/bin/sh
# make-pki.sh - regenerates the scwsemu TEST CA and SCWS server certificate.
#
# Everything this writes is published on purpose and is NOT secret: the keys
# exist so that every user of scwsemu trusts the same test CA. Never use them
# for anything real. See README.md beside this script.
#
# Usage: pki/make-pki.sh [--fault-certs] [OUTDIR]   (default: this script's directory)
#   --fault-certs: only the fault-injection certificates (scws-fault-*.crt),
#   signed by the CA already in OUTDIR; without it, everything is new.
# Needs: openssl 3 (Debian 12 ships 3.0).
#
# Validity is fixed, not "from now": a machine whose clock is behind the one
# that generated the files must still accept them.
set -eu

faults_only=false
if [ "${1:-}" = --fault-certs ]; then
	faults_only=true
	shift
fi
out=${1:-$(dirname "$0")}
start=20250101000000Z
ca_end=20450101000000Z     # CA: 20 years
server_end=20360101000000Z # server: about 10 years
expired_start=20200101000000Z # the "expired" fault certificate:
expired_end=20210101000000Z   # over long ago
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# `openssl ca` is the only OpenSSL 3.0 command that takes explicit start and
# end dates, so both certificates go through it with a throwaway database.
touch "$tmp/index.txt"
cat >"$tmp/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $tmp
database = $tmp/index.txt
new_certs_dir = $tmp
rand_serial = yes
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
organizationName = supplied
organizationalUnitName = optional
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_bootsrv ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
# scwsemu --bootstrap-server: the DM Bootstrap Server outside the card.
subjectAltName = DNS:bootsrv.test,DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_wrong_name ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong-name.invalid
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_self ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localuicc,DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
[ v3_server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
# OMA DM Bootstrap names the SCWS localuicc, 127.0.0.1 and [::1], and allows
# localhost instead of the loopback address (its Note 1).
subjectAltName = DNS:localuicc,DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$1"
}

# issue CRT KEY CN EXTENSIONS CA START END: the certificate CRT for KEY,
# subject /O=scwsemu/OU=TEST ONLY - NOT A SECRET/CN=CN, with the extensions
# of that section of ca.cnf, valid from START to END, signed through
# `openssl ca` by CA: "self" (by KEY itself), else CA.crt with CA.key.
issue() {
	i_crt=$1 i_key=$2 i_cn=$3 i_ext=$4 i_ca=$5 i_from=$6 i_until=$7
	openssl req -config "$tmp/ca.cnf" -new -key "$i_key" \
		-subj "/O=scwsemu/OU=TEST ONLY - NOT A SECRET/CN=$i_cn" -out "$i_crt.csr"
	if [ "$i_ca" = self ]; then
		set -- -selfsign -keyfile "$i_key"
	else
		set -- -cert "$i_ca.crt" -keyfile "$i_ca.key"
	fi
	openssl ca -batch -notext -config "$tmp/ca.cnf" "$@" -extensions "$i_ext" \
		-startdate "$i_from" -enddate "$i_until" -in "$i_crt.csr" -out "$i_crt" \
		2>"$tmp/log" || { cat "$tmp/log"; exit 1; }
}

if $faults_only; then
	cp "$out/scws-ca.crt" "$tmp/ca.crt"
	cp "$out/scws-ca.key" "$tmp/ca.key"
else
# CA: ECDSA P-256, self-signed.
newkey "$tmp/ca.key"
issue "$tmp/ca.crt" "$tmp/ca.key" "scwsemu test CA" v3_ca self "$start" "$ca_end"

# SCWS server: ECDSA P-256, signed by the CA.
newkey "$tmp/server.key"
issue "$tmp/server.crt" "$tmp/server.key" localuicc v3_server "$tmp/ca" "$start" "$server_end"

# SCWS server, RSA 2048 beside it (for TLS 1.2 clients that offer only RSA
# suites): the same CA, names and validity.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/server-rsa.key"
issue "$tmp/server-rsa.crt" "$tmp/server-rsa.key" localuicc v3_server "$tmp/ca" "$start" \
	"$server_end"

for check in "-verify_hostname localuicc" "-verify_hostname localhost" \
	"-verify_ip 127.0.0.1" "-verify_ip ::1"; do
	for crt in server server-rsa; do
		# shellcheck disable=SC2086
		openssl verify -CAfile "$tmp/ca.crt" -purpose sslserver $check "$tmp/$crt.crt" >/dev/null
	done
done

# Bootstrap Server (scwsemu --bootstrap-server): ECDSA P-256, signed by the CA.
newkey "$tmp/bootsrv.key"
issue "$tmp/bootsrv.crt" "$tmp/bootsrv.key" bootsrv.test v3_bootsrv "$tmp/ca" "$start" \
	"$server_end"
openssl verify -CAfile "$tmp/ca.crt" -purpose sslserver -verify_hostname bootsrv.test \
	"$tmp/bootsrv.crt" >/dev/null
fi

# Fault injection (scwsemu "fault add tls-cert ..."): certificates a client
# must refuse, all for one key. wrong-name: signed by the CA for another
# name; expired: the right names, over in 2021; untrusted: the right names,
# signed by a CA nobody is given (its key is thrown away); self-signed: the
# right names, signed by its own key.
newkey "$tmp/fault.key"
f=$tmp/scws-fault
issue "$f-wrong-name.crt" "$tmp/fault.key" wrong-name.invalid v3_wrong_name "$tmp/ca" "$start" \
	"$server_end"
issue "$f-expired.crt" "$tmp/fault.key" localuicc v3_server "$tmp/ca" "$expired_start" \
	"$expired_end"
newkey "$tmp/other-ca.key"
issue "$tmp/other-ca.crt" "$tmp/other-ca.key" "scwsemu untrusted CA" v3_ca self "$start" "$ca_end"
issue "$f-untrusted.crt" "$tmp/fault.key" localuicc v3_server "$tmp/other-ca" "$start" \
	"$server_end"
issue "$f-self-signed.crt" "$tmp/fault.key" localuicc v3_self self "$start" "$server_end"
# Each one must fail verification, and for its own reason.
refused() { # CERT REASON [VERIFY-OPTIONS...]
	c=$1 why=$2
	shift 2
	if openssl verify -CAfile "$tmp/ca.crt" "$@" "$c" >"$tmp/v" 2>&1; then
		echo "$c: verified, but must not"
		exit 1
	fi
	grep -q "$why" "$tmp/v" || { cat "$tmp/v"; exit 1; }
}
refused "$tmp/scws-fault-wrong-name.crt" "hostname mismatch" -verify_hostname localuicc
refused "$tmp/scws-fault-expired.crt" "certificate has expired"
refused "$tmp/scws-fault-untrusted.crt" "unable to get local issuer certificate"
refused "$tmp/scws-fault-self-signed.crt" "self-signed certificate"

mkdir -p "$out"
for v in wrong-name expired untrusted self-signed; do
	cp "$tmp/scws-fault-$v.crt" "$out/scws-fault-$v.crt"
done
cp "$tmp/fault.key" "$out/scws-fault.key"
chmod 644 "$out"/scws-fault-*.crt "$out/scws-fault.key"
echo "wrote $out/scws-fault-{wrong-name,expired,untrusted,self-signed}.crt $out/scws-fault.key"
$faults_only && exit 0

cp "$tmp/ca.crt" "$out/scws-ca.crt"
cp "$tmp/ca.key" "$out/scws-ca.key"
cp "$tmp/server.crt" "$out/scws-server.crt"
cp "$tmp/server.key" "$out/scws-server.key"
cp "$tmp/server-rsa.crt" "$out/scws-server-rsa.crt"
cp "$tmp/server-rsa.key" "$out/scws-server-rsa.key"
chmod 644 "$out/scws-server-rsa.crt" "$out/scws-server-rsa.key"
cp "$tmp/bootsrv.crt" "$out/bootsrv.crt"
cp "$tmp/bootsrv.key" "$out/bootsrv.key"
chmod 644 "$out/bootsrv.crt" "$out/bootsrv.key"
# World-readable on purpose: test keys that ship with the sources.
chmod 644 "$out/scws-ca.crt" "$out/scws-ca.key" "$out/scws-server.crt" "$out/scws-server.key"
echo "wrote $out/scws-ca.crt $out/scws-ca.key $out/scws-server.crt $out/scws-server.key" \
	"$out/scws-server-rsa.crt $out/scws-server-rsa.key $out/bootsrv.crt $out/bootsrv.key"
