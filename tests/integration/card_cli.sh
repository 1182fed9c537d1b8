#!/bin/sh
# card_cli.sh - scwsemu-card end to end: every shipped profile checks, the
# PKCS#15 files parse as DER with openssl, the bootstrap decodes with
# wbxml2xml, and bad input gets a precise answer and exit code.
. "$(dirname "$0")/lib.sh"
need openssl wbxml2xml
C=$SCWSEMU_CARD

for card in default auth empty psk-only legacy xml pin; do
	pin=
	[ "$card" = pin ] && pin="--pin 0000"
	out=$("$C" check "$CARDS/$card" $pin 2>&1)
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
expect_match "default: the ATR's 4 channels are the card's" \
	'logical channels: ATR 4, card 4' "$("$C" check "$CARDS/default")"

# pin: PIN1 enabled, the bootstrap EF needs it (TS 102 221 §9).
out=$("$C" check "$CARDS/pin" 2>&1)
expect_eq "pin: check without --pin exits 1" 1 $?
expect_match "pin: the MF's C6 says PIN1 is enabled" 'SELECT 3F00 \(MF\): 90 00, PIN1 enabled' "$out"
expect_match "pin: READ BINARY of the bootstrap is 69 82" \
	'READ BINARY bootstrap EF 6432 offset 0 length 256: 69 82 security status not satisfied' "$out"
expect_match "pin: the hint names --pin" 'check --pin DIGITS' "$out"
out=$("$C" check "$CARDS/pin" --pin 0000 2>&1)
expect_eq "pin: check --pin 0000 exits 0" 0 $?
expect_match "pin: VERIFY comes right after SELECT MF" \
	'PIN1 enabled.*VERIFY PIN1: 90 00.*SELECT 2F00' "$(echo "$out" | tr '\n' ' ')"
out=$("$C" check "$CARDS/pin" --pin 9999 2>&1)
expect_eq "pin: a wrong PIN exits 1" 1 $?
expect_match "pin: a wrong PIN gets 63 C2" 'VERIFY PIN1: 63 C2 .*2 tries left' "$out"
"$C" check "$CARDS/pin" --pin 12 >/dev/null 2>"$T_TMP/err"
expect_eq "pin: --pin 12 is bad usage" 2 $?
expect_match "pin: --pin 12 says why" '4 to 8 decimal digits' "$(cat "$T_TMP/err")"
out=$("$C" bootstrap "$CARDS/pin" | wc -c)
expect_eq "pin: bootstrap (the card's own view) reads it" "$("$C" bootstrap "$CARDS/default" | wc -c)" "$out"

# An ATR that announces 4 channels on a card that opens 2: check says so.
mkdir -p "$T_TMP/lying"
sed 's/^logical_channels = 4;/logical_channels = 2;/' "$CARDS/default/card.conf" \
	| sed "s|\"bootstrap.xml\"|\"$CARDS/default/bootstrap.xml\"|; s|\"index.html\"|\"$CARDS/default/index.html\"|; s|\.\./\.\./pki|$CARDS/../pki|g" \
	> "$T_TMP/lying/card.conf"
out=$("$C" check "$T_TMP/lying" 2>&1)
expect_eq "lying ATR: check exits 1" 1 $?
expect_match "lying ATR: the channel disagreement is named" \
	'DISAGREE: the ATR announces 4 logical channels, the profile.s card opens 2 .*73 FE 21|capabilities: 19' "$out"

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

# Bootstrap sizes: up to the 2-byte FCP size (65535), read with B1 past
# offset 7FFF; larger is refused by new and by the profile loader.
big_xml() { # $1 = padding bytes, $2 = output
	{ head -n 1 "$CARDS/default/bootstrap.xml"
	  printf '<!-- '; head -c "$1" /dev/zero | tr '\0' x; printf ' -->\n'
	  tail -n +2 "$CARDS/default/bootstrap.xml"; } >"$2"
}
big_xml 54000 "$T_TMP/60k.xml"
"$C" new "$T_TMP/big" --bootstrap "$T_TMP/60k.xml" --store xml >/dev/null
expect_eq "new: a 60 KB XML bootstrap is accepted" 0 $?
out=$("$C" check "$T_TMP/big" 2>&1)
expect_eq "60 KB card checks" 0 $?
expect_match "60 KB card: B1 past 7FFF" 'READ BINARY \(B1\) bootstrap EF 6432 offset 32768 length 253: 90 00' "$out"
expect_eq "60 KB card: the bytes are the file's" "$(cksum <"$T_TMP/60k.xml")" \
	"$("$C" bootstrap "$T_TMP/big" | cksum)"
big_xml 60000 "$T_TMP/66k.xml"
"$C" new "$T_TMP/huge" --bootstrap "$T_TMP/66k.xml" --store xml >/dev/null 2>"$T_TMP/err"
expect_eq "new: a 67 KB bootstrap exits 2" 2 $?
expect_match "... naming size and limit" \
	"66k\.xml: the bootstrap as stored \(xml\) is $(wc -c <"$T_TMP/66k.xml") bytes; an EF holds at most 65535" \
	"$(cat "$T_TMP/err")"
expect_eq "... and writes nothing" no "$([ -e "$T_TMP/huge/card.conf" ] && echo yes || echo no)"
cp "$T_TMP/66k.xml" "$T_TMP/big/bootstrap.xml"
"$C" check "$T_TMP/big" >/dev/null 2>"$T_TMP/err"
expect_eq "profile with a 67 KB bootstrap exits 2" 2 $?
expect_match "... at the source line, with size and limit" \
	"card\.conf:[0-9]+: bootstrap\.source: .*bootstrap\.xml: $(wc -c <"$T_TMP/66k.xml") bytes; an EF holds at most 65535" \
	"$(cat "$T_TMP/err")"


# ---- new --count: a set of cards stamped from one template ------------------
# ${N} / ${NNN} in the bootstrap (the DM server account), --auth, --psk's
# identity and --devid; each card its own PSK key, derived from the one given.
sed 's|<Value>IMEI:493005100592800</Value>|<Value>lab-account-${NNN}</Value>|' \
	"$CARDS/default/bootstrap.xml" >"$T_TMP/tmpl.xml"
MASTER=00112233445566778899AABBCCDDEEFF
out=$("$C" new "$T_TMP/lab" --count 3 --bootstrap "$T_TMP/tmpl.xml" \
	--auth 'user${N}:pass-${NNN}' --psk "lab-\${NNN}:$MASTER" \
	--devid 'IMEI:35${NNN}0000000000' 2>&1)
expect_eq "new --count 3 exits 0" 0 $?
expect_match "... says what it made" 'created 3 cards in .*/lab: card-001 \.\.\. card-003' "$out"
expect_eq "... three card directories, nothing else" "card-001 card-002 card-003" \
	"$(ls "$T_TMP/lab" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... no temporary directory left" "" "$(ls -a "$T_TMP" | grep '^\.lab\.new')"
conf() { sed -n "s/^ *$2 = \"\\(.*\\)\";/\\1/p" "$T_TMP/lab/card-00$1/card.conf"; }
keys=""
for i in 1 2 3; do
	d=$T_TMP/lab/card-00$i
	"$C" check "$d" >/dev/null 2>&1
	expect_eq "card-00$i checks (the PKCS#15 walk, as a single new card)" 0 $?
	expect_match "card-00$i: its own DM server account in the bootstrap" \
		"<Value>lab-account-00$i</Value>" "$("$C" bootstrap "$d" --xml)"
	expect_eq "card-00$i: username user$i" "user$i" "$(conf $i username)"
	expect_eq "card-00$i: passphrase pass-00$i" "pass-00$i" "$(conf $i passphrase)"
	expect_eq "card-00$i: PSK identity lab-00$i" "lab-00$i" "$(conf $i psk_identity)"
	expect_match "card-00$i: devid allow-list" "^devid_allow = \\[ \"IMEI:3500${i}0000000000\" \\];" \
		"$(cat "$d/card.conf")"
	key=$(conf $i psk_key)
	expect_eq "card-00$i: the key derived from the set's key and the identity" \
		"$(printf 'lab-00%s\001' "$i" | openssl dgst -sha256 -mac HMAC -macopt hexkey:$MASTER |
			awk '{print toupper(substr($NF, 1, 32))}')" "$key"
	keys="$keys $key"
done
expect_eq "... three distinct PSK keys" 3 "$(printf '%s\n' $keys | sort -u | wc -l)"
check "... none of them printed" sh -c "! printf '%s' '$out' | grep -Eq '$(printf '%s|' $keys)NOKEY'"
# One card of the set served: its own credentials and PSK fetch its own
# bootstrap; another card's credentials are refused.
start_scwsemu lab2 --card "$T_TMP/lab/card-002" --no-bip --tcpip 127.0.0.1:0 || exit 1
U2=https://127.0.0.1:$(ready_port "$READY_lab2" tcpip 127.0.0.1)/OMA/DM/Bootstrap.xml
"$SCWSEMU_FETCH" "$U2" --xml --devid IMEI:350020000000000 --username user2 \
	--passphrase pass-002 -o "$T_TMP/lab2.xml" 2>"$T_TMP/lab2.err"
expect_eq "scwsemu serves card-002: scwsemu-fetch with its credentials gets it" 0 $?
expect_match "... its own bootstrap" '<Value>lab-account-002</Value>' "$(cat "$T_TMP/lab2.xml")"
"$SCWSEMU_FETCH" "$U2" --xml --devid IMEI:350020000000000 \
	--psk "lab-002:$(conf 2 psk_key)" --username user2 --passphrase pass-002 \
	-o /dev/null 2>/dev/null
expect_eq "... and over PSK with card-002's identity and key" 0 $?
"$SCWSEMU_FETCH" "$U2" --devid IMEI:350010000000000 --username user1 \
	--passphrase pass-001 -o /dev/null 2>/dev/null
check "... card-001's credentials are refused there" test $? -ne 0
stop_pid "$PID_lab2"
# Without a key: random ones, still distinct.
"$C" new "$T_TMP/rnd" --count 2 --no-bootstrap --psk 'r${N}' >/dev/null 2>&1
expect_eq "new --count 2 --psk IDENTITY (no key): exit 0" 0 $?
expect_eq "... two random keys of 16 bytes, distinct" 2 "$(sed -n 's/^ *psk_key = "\([0-9A-F]\{32\}\)";/\1/p' \
	"$T_TMP/rnd/card-001/card.conf" "$T_TMP/rnd/card-002/card.conf" | sort -u | wc -l)"
# Bad input: exact answers, nothing written.
"$C" new "$T_TMP/zero" --count 0 --no-bootstrap >/dev/null 2>"$T_TMP/err"
expect_eq "new --count 0: exit 2" 2 $?
expect_match "... naming the range" "--count '0': a number of cards, 1\.\.10000" "$(cat "$T_TMP/err")"
"$C" new "$T_TMP/lab" --count 2 --no-bootstrap >/dev/null 2>&1
expect_eq "new --count over an existing set: exit 1" 1 $?
"$C" new "$T_TMP/nokey" --no-bootstrap --psk 'id' >/dev/null 2>"$T_TMP/err"
expect_eq "new --psk IDENTITY without --count: exit 2" 2 $?
expect_match "... a key is needed for one card" "expected IDENTITY:HEXKEY" "$(cat "$T_TMP/err")"
check "... nothing written" test ! -e "$T_TMP/zero" -a ! -e "$T_TMP/nokey"

finish
