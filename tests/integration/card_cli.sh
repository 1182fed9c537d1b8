#!/bin/sh
# card_cli.sh - scwsemu-card end to end: every shipped profile checks, the
# PKCS#15 files parse as DER with openssl, the bootstrap decodes with
# wbxml2xml, and bad input gets a precise answer and exit code.
. "$(dirname "$0")/lib.sh"
need openssl wbxml2xml
C=$SCWSEMU_CARD

for card in default auth empty psk-only legacy xml; do
	out=$("$C" check "$CARDS/$card" 2>&1)
	rc=$?
	expect_eq "check $card exits 0" 0 "$rc"
	expect_match "check $card walks EF.DIR first" 'SELECT 2F00 \(EF.DIR\): 90 00' "$out"
	expect_match "check $card opens a logical channel" 'MANAGE CHANNEL open: 90 00' "$out"
done
out=$("$C" check "$CARDS/default")
expect_match "default: bootstrap found at 6432 through the DODF" \
	'DODF 6430 object 1: oidDO "DM Bootstrap" id 2\.23\.43\.7\.1.*-> 6432' "$out"
expect_match "default: WBXML bootstrap reached" '^ok: bootstrap of [0-9]+ bytes \(WBXML\)' "$out"
out=$("$C" check "$CARDS/empty")
expect_match "empty: no bootstrap, the 404 path" 'no bootstrap on this card.*404' "$out"
out=$("$C" check "$CARDS/xml")
expect_match "xml: stores plain XML" '^ok: bootstrap of [0-9]+ bytes \(XML\)' "$out"

# ls names every EF by its path from the MF; cat takes those paths.
ls_out=$("$C" ls "$CARDS/default")
for p in 3F00/2F00 3F00/2FE2 3F00/7F50/5031 3F00/7F50/5032 3F00/7F50/6430 3F00/7F50/6432; do
	expect_match "ls lists $p" "^$p " "$ls_out"
done
expect_match "ls decodes EF.DIR" 'application A000000063504B43532D3135 "PKCS#15" path 3F00/7F50' "$ls_out"
expect_match "ls decodes the DODF" 'oidDO "DM Bootstrap" oid 2\.23\.43\.7\.1 -> 6432' "$ls_out"

for f in 5031 5032 6430; do
	"$C" cat "$CARDS/default" 3F00/7F50/$f >"$T_TMP/$f.der"
	check "openssl asn1parse accepts 3F00/7F50/$f" \
		openssl asn1parse -inform DER -in "$T_TMP/$f.der" -noout
done
odf=$(od -An -tx1 "$T_TMP/5031.der" | tr -d ' \n')
expect_eq "ODF bytes as in doc/protocol.md §4.3" a70630040402643000 "${odf}00"
dodf=$(openssl asn1parse -inform DER -in "$T_TMP/6430.der")
expect_match "DODF holds OID 2.23.43.7.1" 'OBJECT +:2\.23\.43\.7\.1' "$dodf"

# The bootstrap: WBXML that wbxml2xml decodes to a SyncML message with the MgmtTree.
"$C" bootstrap "$CARDS/default" >"$T_TMP/boot.wbxml"
expect_eq "bootstrap equals the EF 6432 bytes" \
	"$("$C" cat "$CARDS/default" 3F00/7F50/6432 | od -An -tx1)" "$(od -An -tx1 <"$T_TMP/boot.wbxml")"
wbxml2xml -o "$T_TMP/boot.xml" "$T_TMP/boot.wbxml" >/dev/null 2>&1
x=$(cat "$T_TMP/boot.xml" 2>/dev/null)
expect_match "wbxml2xml: SyncML 1.2 message" '<SyncML' "$x"
expect_match "wbxml2xml: MgmtTree inside" '<MgmtTree' "$x"
expect_match "wbxml2xml: the DMAcc server address" 'https://dm\.example\.com:443/oma-dm' "$x"
x=$("$C" bootstrap "$CARDS/default" --xml)
expect_match "bootstrap --xml decodes" '<NodeName>AppAddr</NodeName>' "$x"
x=$("$C" bootstrap "$CARDS/xml")
expect_match "xml card stores XML" '^<\?xml|<SyncML' "$x"

# Bad input: precise messages and exit codes.
"$C" bootstrap "$CARDS/empty" >/dev/null 2>"$T_TMP/err"
expect_eq "bootstrap of the empty card exits 1" 1 $?
expect_match "... and says why" 'no bootstrap on this card' "$(cat "$T_TMP/err")"
"$C" cat "$CARDS/default" 3F00/7F50/9999 >/dev/null 2>"$T_TMP/err"
expect_eq "cat of a missing EF exits 1" 1 $?
expect_match "... naming the path" 'no file at 3F00/7F50/9999' "$(cat "$T_TMP/err")"
"$C" cat "$CARDS/default" 7F50 >/dev/null 2>"$T_TMP/err"
expect_eq "cat of a path not from the MF exits 2" 2 $?
"$C" check "$T_TMP/nonexistent" >/dev/null 2>&1
expect_eq "check of a missing directory exits 2" 2 $?
"$C" frobnicate >/dev/null 2>&1
expect_eq "an unknown command exits 2" 2 $?

mkdir -p "$T_TMP/bad"
printf 'name = "bad";\natr = "3B 00";\nbogus_key = 1;\n' >"$T_TMP/bad/card.conf"
"$C" check "$T_TMP/bad" >/dev/null 2>"$T_TMP/err"
expect_eq "a bad profile exits 2" 2 $?
expect_match "... naming file and line" "$T_TMP/bad/card.conf:[0-9]+: " "$(cat "$T_TMP/err")"

# new: a profile that checks, with credentials and PSK; bad XML refused with its line.
out=$("$C" new "$T_TMP/mine" --bootstrap "$CARDS/default/bootstrap.xml" \
	--auth dmuser:pw --psk me:00112233445566778899aabbccddeeff 2>&1)
expect_eq "new exits 0" 0 $?
"$C" check "$T_TMP/mine" >/dev/null
expect_eq "the new profile checks" 0 $?
expect_eq "the new profile's bootstrap equals default's" \
	"$("$C" bootstrap "$CARDS/default" | od -An -tx1)" "$("$C" bootstrap "$T_TMP/mine" | od -An -tx1)"
"$C" new "$T_TMP/none" --no-bootstrap >/dev/null
out=$("$C" check "$T_TMP/none")
expect_match "new --no-bootstrap: the 404 path" 'no bootstrap on this card' "$out"
printf '<SyncML>\n<SyncHdr>\n</SyncML>\n' >"$T_TMP/broken.xml"
"$C" new "$T_TMP/broken" --bootstrap "$T_TMP/broken.xml" >/dev/null 2>"$T_TMP/err"
expect_eq "new with malformed XML exits 2" 2 $?
expect_match "... with the XML line" 'broken\.xml:3: ' "$(cat "$T_TMP/err")"
"$C" new "$T_TMP/mine" --bootstrap "$CARDS/default/bootstrap.xml" >/dev/null 2>&1
expect_eq "new refuses to overwrite a profile" 1 $?

finish
