#!/bin/bash
# trace_tshark.sh - the APDU traces as Wireshark sees them: the pcap writer's
# file (the BIP session of doc/protocol.md §1.13) decodes with tshark down to the
# CAT objects (OPEN CHANNEL port 4116, TERMINAL RESPONSE, FETCH after 91 xx),
# with good IPv4 checksums; and live GSMTAP datagrams captured on loopback
# decode the same (skipped when this user cannot capture).
. "$(dirname "$0")/lib.sh"
need tshark

TRACE_APDUS=$top_builddir/tests/tools/trace_apdus
LIST=$top_srcdir/tests/data/trace/bip-session.txt
GOLDEN=$top_srcdir/tests/data/trace/bip-session.pcap
[ -x "$TRACE_APDUS" ] || skip_all "$TRACE_APDUS not built"
F=$T_TMP/f.pcap

check "trace_apdus writes the pcap" "$TRACE_APDUS" "$LIST" "$F"
check "the file equals the golden file of the unit test" cmp -s "$F" "$GOLDEN"

ts() { tshark -r "$F" "$@" 2>/dev/null; }

expect_eq "OPEN CHANNEL transport port" 4116 \
	"$(ts -Y 'etsi_cat.comp_tlv.cmd_type == 0x40' -T fields -e etsi_cat.comp_tlv.transport.port)"

# One pass for the rest (tshark takes half a second to start): one line
# per packet, columns named below.
ts -o ip.check_checksum:TRUE -T fields -E occurrence=f -e frame.number -e frame.protocols \
	-e gsm_sim.apdu.ins -e gsm_sim.apdu.sw -e etsi_cat.comp_tlv.cmd_type \
	-e etsi_cat.comp_tlv.event -e etsi_cat.comp_tlv.buffer_size -e ip.checksum.status \
	-e _ws.malformed -e _ws.expert.severity -e frame.time_epoch \
	-e gsm_sim.tp.evt.data_avail >"$T_TMP/fields"
col() { awk -F'\t' -v c="$1" '{ print $c }' "$T_TMP/fields"; }
count() { col "$1" | grep -c -- "$2"; }

expect_eq "18 packets, all ip:udp:gsmtap:gsm_sim" 18 "$(count 2 '^ip:udp:gsmtap:gsm_sim')"
expect_eq "the 15 CAT exchanges decode down to etsi_cat" 15 "$(count 2 ':etsi_cat$')"
expect_eq "FETCH commands" 6 "$(count 3 '^0x12$')"
expect_eq "TERMINAL RESPONSEs" 6 "$(count 3 '^0x14$')"
expect_eq "SWs 91xx announcing a FETCH" "0x910f 0x9114 0x910e" \
	"$(col 4 | grep '^0x91' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "buffer size in OPEN CHANNEL and its TERMINAL RESPONSE" "1400 1400" \
	"$(col 7 | grep -v '^$' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "ENVELOPE with the event Data available" 7 \
	"$(awk -F'\t' '$3 == "0xc2" && $6 == "0x09" { print $1 }' "$T_TMP/fields")"
expect_eq "IPv4 header checksums good" 18 "$(count 8 '^1$')"
expect_eq "no malformed packet, no expert information" 0 "$(cut -f 9,10 "$T_TMP/fields" | grep -vc '^\s*$')"
expect_eq "time stamps are the fixed ones" "1700000000.000000000 1700000017.250017000" \
	"$(col 11 | sed -n '1p;$p' | tr '\n' ' ' | sed 's/ $//')"

# A file cut short after a kill is still readable up to the last record.
head -c $(($(stat -c %s "$F") - 10)) "$F" >"$T_TMP/cut.pcap"
expect_eq "a truncated file still gives its whole records" 17 \
	"$(tshark -r "$T_TMP/cut.pcap" 2>/dev/null | wc -l)"

# Live GSMTAP on loopback, to a port of our own (decoded as GSMTAP by -d);
# skipped when this user cannot capture.
PORT=$((20000 + $$ % 20000))
L=$T_TMP/live.pcap
tshark -i lo -f "udp port $PORT" -c 18 -a duration:5 -w "$L" >/dev/null 2>"$T_TMP/cap.err" &
CAP=$!
T_PIDS="$T_PIDS $CAP"
for _ in $(seq 50); do
	grep -q 'Capturing on' "$T_TMP/cap.err" 2>/dev/null && break
	kill -0 $CAP 2>/dev/null || break
	sleep 0.1
done
if grep -q 'Capturing on' "$T_TMP/cap.err" 2>/dev/null; then
	sleep 0.3
	check "trace_apdus sends live GSMTAP" "$TRACE_APDUS" --gsmtap "127.0.0.1:$PORT" "$LIST"
	wait "$CAP" 2>/dev/null
	tshark -r "$L" -d "udp.port==$PORT,gsmtap" -Y gsm_sim -T fields \
		-e etsi_cat.comp_tlv.transport.port >"$T_TMP/live" 2>/dev/null
	expect_eq "live: all 18 exchanges decode as GSMTAP SIM" 18 "$(wc -l <"$T_TMP/live")"
	expect_eq "live: OPEN CHANNEL port 4116" 4116 "$(grep -v '^$' "$T_TMP/live")"
else
	kill $CAP 2>/dev/null
	echo "# live capture skipped: $(grep -v '^Running as' "$T_TMP/cap.err" | head -1)"
fi

finish
