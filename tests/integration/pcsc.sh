#!/bin/bash
# pcsc.sh - end to end over PC/SC, with a pcscd of our own: the emulated card on
# vsmartcard's vpcd (scwsemu --vpcd) as OpenSC sees it (ATR, PKCS#15 application, the
# bootstrap data object 2.23.43.7.1), and the gateway over PC/SC (scwsemu --reader)
# serving the bootstrap to curl through pcscd, surviving pcscd killed and restarted,
# a reset by another application, and the card going and coming; a reader that does
# not exist exits 2 with the list of readers.
#
# The pcscd is private (pcsc_lib.sh): it runs in a mount namespace (unshare) where
# /run/pcscd is a directory of this test, with a reader.conf.d that puts vpcd on free
# TCP ports, and every client finds it through PCSCLITE_CSOCK_NAME. A pcscd already
# running (the system's, another test's) is neither used nor disturbed; pcscd stays in
# the foreground and is stopped by the EXIT trap, also when a check fails.
# Skips (77) without pcscd, the vpcd driver, curl, or mount namespaces (root, or
# unprivileged user namespaces). Set PCSC_TEST_KEEP=1 to keep the logs in $T_TMP.
. "$(dirname "$0")/lib.sh"
need pcscd curl python3 unshare

. "$(dirname "$0")/pcsc_lib.sh"

start_pcscd || exit 1

# ---- the card on vpcd, as PC/SC applications see it ----------------------------

"$SCWSEMU_CARD" bootstrap "$CARDS/default" >"$T_TMP/expected.wbxml"
start_card card "$CARDS/default" "$VPORT" || exit 1

# The ATR as OpenSC prints it: lower case, colons.
ATR=$(sed -n 's/^atr = "\(.*\)";.*/\1/p' "$CARDS/default/card.conf" | tr 'A-F ' 'a-f:')
if command -v opensc-tool >/dev/null 2>&1; then
	check "the card is in '$R0' (opensc-tool -r NAME -a)" \
		wait_for 10 opensc-tool -r "$R0" -a
	expect_eq "opensc-tool -a prints the profile's ATR" "$ATR" \
		"$(opensc-tool -r "$R0" -a 2>&1)"
	expect_match "opensc-tool -l lists both vpcd slots" "$R0.*|$R1" \
		"$(opensc-tool -l 2>&1 | tr '\n' '|')"
else
	echo "# opensc-tool not installed: OpenSC checks skipped"
fi

if command -v pkcs15-tool >/dev/null 2>&1; then
	# OpenSC binds no card driver to an ATR it does not know unless the default
	# driver is enabled (opensc-tool enables it itself, pkcs15-tool does not);
	# PKCS#15 is then found the generic way, through EF.DIR and the AID.
	printf 'app default {\n\tenable_default_driver = true;\n}\n' >"$T_TMP/opensc.conf"
	export OPENSC_CONF=$T_TMP/opensc.conf
	expect_match "pkcs15-tool finds the PKCS#15 application through EF.DIR" \
		'AID: A000000063504B43532D3135' \
		"$(pkcs15-tool --reader "$R0" --list-applications 2>&1)"
	expect_match "... and the token (TokenInfo)" 'DM bootstrap token' \
		"$(pkcs15-tool --reader "$R0" --dump 2>&1)"
	# OpenSC 0.23 decodes only opaqueDO entries in a DODF (its c_asn1_data is a
	# SEQUENCE), with the OID in applicationOID; the default card writes an oidDO
	# ([1], the OID in typeAttributes). A card with oid_placement =
	# "applicationOID" is read by OID, on the second slot.
	mkdir -p "$T_TMP/appoid"
	sed -e "s|\.\./\.\./pki|$top_srcdir/pki|" \
		-e "s|\"index.html\"|\"$CARDS/default/index.html\"|" \
		-e "s|\"bootstrap.xml\"|\"$CARDS/default/bootstrap.xml\"|" \
		-e 's|oid_placement = "typeAttributes"|oid_placement = "applicationOID"|' \
		"$CARDS/default/card.conf" >"$T_TMP/appoid/card.conf"
	"$SCWSEMU_CARD" bootstrap "$T_TMP/appoid" >"$T_TMP/appoid.wbxml"
	start_card appoid "$T_TMP/appoid" $((VPORT + 1)) || exit 1
	wait_for 10 opensc-tool -r "$R1" -a
	rm -f "$T_TMP/do.bin"
	pkcs15-tool --reader "$R1" --read-data-object 2.23.43.7.1 --output "$T_TMP/do.bin" \
		>"$T_TMP/p15.out" 2>&1
	check "pkcs15-tool --read-data-object 2.23.43.7.1 returns the bootstrap byte for byte" \
		cmp -s "$T_TMP/do.bin" "$T_TMP/appoid.wbxml"
	expect_match "pkcs15-tool -C lists the object with its OID and path" \
		'applicationOID: +2\.23\.43\.7\.1.*Path: +3f007f506432' \
		"$(pkcs15-tool --reader "$R1" --list-data-objects 2>&1 | tr '\n' ' ')"
	stop_pid "$PID_appoid"
	unset OPENSC_CONF
else
	echo "# pkcs15-tool not installed: PKCS#15 checks skipped"
fi

# ---- the gateway over PC/SC ----------------------------------------------------

GWREADY=$T_TMP/gw.ready
GWLOG=$T_TMP/gw.log
"${GW[@]}" --reader "$R0" --port-map "4116=$HP" --port-map 3516=0 --ready-file "$GWREADY" \
	2>"$GWLOG" &
GW_PID=$!
T_PIDS="$T_PIDS $GW_PID"
check "the gateway is up with the card's listeners (ready file)" wait_for 10 test -s "$GWREADY"
expect_match "ready file: card port 4116 on the host port asked for" \
	"\"port\": $HP, \"card_port\": 4116" "$(cat "$GWREADY" 2>/dev/null)"
expect_match "the gateway found the card (T=0, the ATR)" \
	"card in reader '$R0' \\(T=0\\), ATR $(tr 'a-f:' 'A-F ' <<<"$ATR")" "$(cat "$GWLOG")"

URL="https://127.0.0.1:$HP$BOOT"
fetch() { # fetch OUT [curl args]: the HTTP status
	local out=$1
	shift
	curl -sS --max-time 10 --cacert "$CA" -o "$out" -w '%{http_code}' "$@" "$URL" 2>/dev/null
}
fetch_ok() {
	[ "$(fetch "$T_TMP/f.b")" = 200 ] && cmp -s "$T_TMP/f.b" "$T_TMP/expected.wbxml"
}

expect_eq "GET through pcscd: 200" 200 "$(fetch "$T_TMP/g.b")"
check "... with the bootstrap byte for byte" cmp -s "$T_TMP/g.b" "$T_TMP/expected.wbxml"
expect_eq "POST (multipart devid) through pcscd: 200" 200 \
	"$(fetch "$T_TMP/p.b" -F devid=IMEI:493005100592800)"
check "... with the bootstrap byte for byte" cmp -s "$T_TMP/p.b" "$T_TMP/expected.wbxml"
n=0
for i in 1 2 3 4 5; do
	fetch_ok && n=$((n + 1))
done
expect_eq "five fetches in a row" 5 "$n"

# Another application resets the card: the gateway runs TERMINAL PROFILE again.
if command -v opensc-tool >/dev/null 2>&1; then
	opensc-tool -r "$R0" --reset >/dev/null 2>&1
	check "a reset by another application is seen" \
		wait_for 5 log_has "$GWLOG" 'was reset by another application'
	check "... and the next fetch works" wait_for 5 fetch_ok
fi

# pcscd killed and started again, twice (TERM, then KILL: a stale socket).
for sig in TERM KILL; do
	gone=$(grep -c 'pcscd is not running' "$GWLOG")
	lost=$(grep -c 'connection to vpcd .* lost' "$LOG_card")
	stop_pcscd "$sig"
	check "pcscd killed (SIG$sig): the gateway says pcscd is gone" \
		wait_for 5 log_has "$GWLOG" 'pcscd is not running' "$gone"
	check "... the card side says vpcd is gone" \
		wait_for 5 log_has "$LOG_card" 'connection to vpcd .* lost' "$lost"
	check "... and the port no longer serves" wait_for 5 eval '! fetch_ok'
	start_pcscd || exit 1
	check "pcscd started again (SIG$sig): the next fetch works" wait_for 15 fetch_ok
	expect_eq "... the gateway said pcscd was back" \
		"$(grep -c 'pcscd is not running' "$GWLOG")" "$(grep -c 'pcscd is back' "$GWLOG")"
	expect_eq "... the gateway process is alive" 0 "$(kill -0 "$GW_PID" 2>&1; echo $?)"
done
expect_eq "pcscd away: said once per outage" 2 "$(grep -c 'pcscd is not running' "$GWLOG")"

# The card leaves the reader and comes back.
stop_pid "$PID_card"
check "card removed: the gateway sees it" \
	wait_for 5 log_has "$GWLOG" "card out of reader '$R0'"
check "... and the port no longer serves" wait_for 5 eval '! fetch_ok'
: >"$LOG_card"
start_card card "$CARDS/default" "$VPORT" || exit 1
check "card inserted again: the next fetch works" wait_for 10 fetch_ok

# ---- faults on the PC/SC path (scwsemu-ctl fault add apdu-sw / apdu-delay) --------

# The card on the second slot with a control socket and a trace; scriptor
# (pcsc-tools) sends exactly the APDUs given, through pcscd and vpcd.
if command -v scriptor >/dev/null 2>&1; then
	CTL=$top_builddir/src/scwsemu-ctl
	FSOCK=$T_TMP/fcard.sock
	"$SCWSEMU" --card "$CARDS/default" --vpcd "127.0.0.1:$((VPORT + 1))" --no-tcpip \
		--no-bip --control "$FSOCK" --trace "$T_TMP/fcard.pcap" 2>>"$T_TMP/fcard.log" &
	FPID=$!
	T_PIDS="$T_PIDS $FPID"
	check "a card with a control socket on '$R1'" \
		wait_for 10 grep -q 'connected to vpcd' "$T_TMP/fcard.log"
	apdus() { printf '%s\n' "$@" | timeout 30 scriptor -r "$R1" 2>&1; }
	# vpcd is connected; pcscd sees the card at its next poll of the slot.
	card_answers() { apdus "00 A4 00 0C 02 2F E2" | grep -q '< 90 00'; }
	check "... pcscd sees the card in '$R1'" wait_for 10 card_answers
	"$CTL" --control "$FSOCK" fault add apdu-sw B0 6F00 >/dev/null
	out=$(apdus "00 A4 00 0C 02 2F E2" "00 B0 00 00 04")
	expect_match "apdu-sw B0 6F00: scriptor's READ BINARY gets 6F 00 through pcscd" \
		'< 6F 00' "$out"
	out=$(apdus "00 A4 00 0C 02 2F E2" "00 B0 00 00 04")
	expect_match "... once (count=1): the next READ BINARY gets data and 90 00" \
		'< ([0-9A-F]{2} ){4}90 00' "$(tr '\n' ' ' <<<"$out")"
	"$CTL" --control "$FSOCK" fault add apdu-delay 800 >/dev/null
	t0=$(date +%s.%N)
	out=$(apdus "00 A4 00 0C 02 2F E2")
	t1=$(date +%s.%N)
	expect_match "apdu-delay 800: the SELECT is answered" '< 90 00' "$out"
	expect_eq "... 0.8 s late at least" 1 "$(python3 -c "print(int($t1 - $t0 >= 0.8))")"

	# scwsemu-ctl card remove / insert with --vpcd: vpcd tells pcscd, which
	# reports the reader empty, then the card back with its ATR.
	# reader_is READER Yes|No: opensc-tool -l's Card column for that reader.
	reader_is() {
		[ "$(opensc-tool -l 2>/dev/null | awk -v r="$1" 'index($0, r) { print $2 }')" = "$2" ]
	}
	check "before: opensc-tool -l shows a card in '$R1'" reader_is "$R1" Yes
	"$CTL" --control "$FSOCK" card remove >/dev/null || not_ok "scwsemu-ctl card remove"
	check "card remove (--vpcd): pcscd reports '$R1' empty (opensc-tool -l)" \
		wait_for 10 reader_is "$R1" No
	out=$(apdus "00 A4 00 0C 02 2F E2" 2>&1)
	expect_match "... scriptor cannot reach a card there" 'No smart ?card inserted' "$out"
	check "... and gets no answer" eval '! grep -q "< 90 00" <<<"$out"'
	check "... the other slot keeps its card" reader_is "$R0" Yes
	"$CTL" --control "$FSOCK" card insert >/dev/null || not_ok "scwsemu-ctl card insert"
	check "card insert: pcscd reports a card in '$R1' again" wait_for 10 reader_is "$R1" Yes
	expect_eq "... with the card's ATR (opensc-tool -a)" "$ATR" "$(opensc-tool -r "$R1" -a 2>&1)"
	check "... and it answers a SELECT through pcscd" wait_for 10 card_answers
	stop_pid "$FPID"
	if command -v tshark >/dev/null 2>&1; then
		# tshark takes a short READ BINARY answer for data, not a status
		# word: the exchange is matched on its bytes (C-APDU then R-APDU).
		expect_eq "tshark: the trace holds the READ BINARY answered 6F 00" 1 \
			"$(tshark -r "$T_TMP/fcard.pcap" \
				-Y 'gsm_sim.apdu.ins == 0xb0 && frame contains 00:b0:00:00:04:6f:00' \
				2>/dev/null | wc -l)"
	fi
else
	echo "# scriptor not installed: PC/SC fault checks skipped"
fi

# ---- start-up errors -------------------------------------------------------------

out=$("${GW[@]}" --reader "No Such Reader" 2>&1)
rc=$?
expect_eq "a reader that does not exist: exit 2" 2 "$rc"
expect_match "... listing the readers there are" \
	"no reader 'No Such Reader'; readers: '$R0', '$R1'" "$out"
out=$(PCSCLITE_CSOCK_NAME=$T_TMP/no-pcscd.comm "${GW[@]}" --reader "$R0" 2>&1)
rc=$?
expect_eq "pcscd not running at start: exit 1" 1 "$rc"
expect_match "... saying so" 'pcscd is not running' "$out"

stop_pid "$GW_PID"
expect_eq "the gateway's log holds no sanitizer report" 0 \
	"$(grep -c -E 'AddressSanitizer|LeakSanitizer|runtime error' "$GWLOG")"
finish
