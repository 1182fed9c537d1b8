#!/bin/bash
# pcsc_card.sh - the card as a terminal test harness drives it through pcscd:
# scriptor (pcsc-tools) sends the PIN sequences of ETSI TS 102 221 §11.1.9-13 to
# the shipped pin card (retry counters that block at 0 and survive a reset,
# UNBLOCK with the PUK, 69 82 until VERIFY), the GSM class SELECT (9F xx, GET
# RESPONSE), MANAGE CHANNEL at the ATR's limit; pkcs15-tool reads the bootstrap
# data object of a card whose bootstrap is 60 KB. A private pcscd (pcsc_lib.sh).
. "$(dirname "$0")/lib.sh"
need pcscd python3 unshare scriptor
. "$(dirname "$0")/pcsc_lib.sh"

start_pcscd || exit 1
start_card pin "$CARDS/pin" "$VPORT" || exit 1
wait_for 10 sh -c "echo | scriptor -r '$R0'" || { echo "no card in $R0" >&2; exit 1; }

# run NAME [READER]: the APDUs on stdin through scriptor; the answers, one per
# line ("61 27", "90 00", "01 08 ... 90 00"; scriptor wraps long ones), in
# $T_TMP/NAME.out.
run() {
	scriptor -r "${2:-$R0}" >"$T_TMP/$1.raw" 2>&1
	awk '/^< / { a = substr($0, 3); on = 1 } !/^< / && on { a = a " " $0 }
	     on && / : / { sub(/ : .*/, "", a); gsub(/  +/, " ", a); sub(/ +$/, "", a);
			   print a; on = 0 }' "$T_TMP/$1.raw" >"$T_TMP/$1.out"
}
# answer NAME N: the Nth answer.
answer() { sed -n "${2}p" "$T_TMP/$1.out"; }

PIN=30303030FFFFFFFF   # "0000"
WRONG=39393939FFFFFFFF # "9999"
NEW=31323334FFFFFFFF   # "1234"
PUK=3132333435363738   # "12345678"
sp() { echo "$1" | sed 's/../& /g; s/ $//'; }

# ---- PIN1: VERIFY, the empty form, blocking, reset, UNBLOCK ----------------------
run verify <<EOF2
00 A4 08 0C 04 7F 50 64 32
00 B0 00 00 10
00 20 00 01
00 20 00 01 08 $(sp $WRONG)
00 20 00 01
00 20 00 01 08 $(sp $PIN)
00 20 00 01
00 B0 00 00 04
reset
00 20 00 01
00 A4 08 0C 04 7F 50 64 32
00 B0 00 00 04
EOF2
expect_eq "SELECT the bootstrap EF by path" "90 00" "$(answer verify 1)"
expect_eq "READ BINARY before VERIFY: 69 82" "69 82" "$(answer verify 2)"
expect_eq "empty VERIFY: 3 tries left" "63 C3" "$(answer verify 3)"
expect_eq "wrong PIN: 63 C2" "63 C2" "$(answer verify 4)"
expect_eq "empty VERIFY after it: 63 C2" "63 C2" "$(answer verify 5)"
expect_eq "right PIN: 90 00" "90 00" "$(answer verify 6)"
expect_eq "empty VERIFY when verified: 90 00" "90 00" "$(answer verify 7)"
expect_match "READ BINARY after VERIFY: the WBXML bootstrap" '^02 [0-9A-F]{2} [0-9A-F]{2} [0-9A-F]{2} 90 00$' "$(answer verify 8)"
expect_eq "after a reset: not verified, 3 tries" "63 C3" "$(answer verify 9)"
expect_eq "after a reset: READ BINARY is 69 82 again" "69 82" "$(answer verify 11)"

run block <<EOF2
00 20 00 01 08 $(sp $WRONG)
00 20 00 01 08 $(sp $WRONG)
00 20 00 01 08 $(sp $WRONG)
00 20 00 01 08 $(sp $PIN)
reset
00 20 00 01
00 2C 00 01
00 2C 00 01 10 $(sp $WRONG) $(sp $NEW)
00 2C 00 01 10 $(sp $PUK) $(sp $NEW)
00 20 00 01
reset
00 20 00 01 08 $(sp $PIN)
00 20 00 01 08 $(sp $NEW)
00 24 00 01 10 $(sp $NEW) $(sp $PIN)
00 26 00 01 08 $(sp $PIN)
reset
00 A4 08 0C 04 7F 50 64 32
00 B0 00 00 01
00 28 00 01 08 $(sp $PIN)
EOF2
expect_eq "wrong PIN 1/3" "63 C2" "$(answer block 1)"
expect_eq "wrong PIN 2/3" "63 C1" "$(answer block 2)"
expect_eq "wrong PIN 3/3 blocks: 63 C0" "63 C0" "$(answer block 3)"
expect_eq "the right PIN on a blocked PIN1: 69 83" "69 83" "$(answer block 4)"
expect_eq "still blocked after a reset" "69 83" "$(answer block 5)"
expect_eq "UNBLOCK empty: 10 PUK tries" "63 CA" "$(answer block 6)"
expect_eq "UNBLOCK with a wrong PUK: 63 C9" "63 C9" "$(answer block 7)"
expect_eq "UNBLOCK with the PUK and a new PIN: 90 00" "90 00" "$(answer block 8)"
expect_eq "verified by UNBLOCK" "90 00" "$(answer block 9)"
expect_eq "the old PIN is refused after UNBLOCK" "63 C2" "$(answer block 10)"
expect_eq "the new PIN verifies, the counter back to 3" "90 00" "$(answer block 11)"
expect_eq "CHANGE PIN back to 0000" "90 00" "$(answer block 12)"
expect_eq "DISABLE PIN with 0000" "90 00" "$(answer block 13)"
expect_eq "disabled: the bootstrap EF reads without VERIFY after a reset" \
	"$(answer verify 8 | cut -c1-2)" "$(answer block 15 | cut -c1-2)"
expect_eq "ENABLE PIN again" "90 00" "$(answer block 16)"

# ---- the GSM class --------------------------------------------------------------
run gsm <<EOF2
A0 A4 00 00 02 3F 00
A0 C0 00 00 17
A0 A4 00 00 02 2F E2
A0 C0 00 00 0F
A0 B0 00 00 0A
A0 F2 00 00 17
EOF2
expect_eq "A0 SELECT MF: 9F 17" "9F 17" "$(answer gsm 1)"
expect_match "GET RESPONSE: the GSM response of the MF (type 01, CHV1 enabled, 3 tries)" \
	'^00 00 00 00 3F 00 01 00 00 00 00 00 0A 01 .. .. .. 00 83 8A 83 8A 00 90 00$' "$(answer gsm 2)"
expect_eq "A0 SELECT EF.ICCID: 9F 0F" "9F 0F" "$(answer gsm 3)"
expect_eq "GET RESPONSE: EF, 10 bytes, transparent" \
	"00 00 00 0A 2F E2 04 00 0A FF AA 01 02 00 00 90 00" "$(answer gsm 4)"
expect_eq "A0 READ BINARY: the ICCID" "98 88 02 00 00 00 00 00 60 F3 90 00" "$(answer gsm 5)"
expect_match "A0 STATUS: the MF" '^00 00 00 00 3F 00 01 .* 90 00$' "$(answer gsm 6)"

# ---- logical channels: the ATR says 4 -------------------------------------------
run chan <<EOF2
00 70 00 00 01
00 70 00 00 01
00 70 00 00 01
00 70 00 00 01
00 70 00 04
01 70 80 01
00 70 00 00 01
EOF2
expect_eq "MANAGE CHANNEL open: 1" "01 90 00" "$(answer chan 1)"
expect_eq "MANAGE CHANNEL open: 2" "02 90 00" "$(answer chan 2)"
expect_eq "MANAGE CHANNEL open: 3" "03 90 00" "$(answer chan 3)"
expect_eq "a fourth: 6A 81 (the ATR announces 4 with the basic one)" "6A 81" "$(answer chan 4)"
expect_eq "channel 4 by number: 68 81" "68 81" "$(answer chan 5)"
expect_eq "close 1" "90 00" "$(answer chan 6)"
expect_eq "open again: 1" "01 90 00" "$(answer chan 7)"
stop_pid "$PID_pin"

# ---- large bootstraps ------------------------------------------------------------
# big_card DIR PADDING: the default card with the bootstrap stored as XML, made
# larger by a comment, its DODF entry in applicationOID (what OpenSC reads).
big_card() {
	mkdir -p "$1"
	{ head -n 1 "$CARDS/default/bootstrap.xml"
	  printf '<!-- '; head -c "$2" /dev/zero | tr '\0' x; printf ' -->\n'
	  tail -n +2 "$CARDS/default/bootstrap.xml"; } >"$1/bootstrap.xml"
	sed -e "s|\.\./\.\./pki|$top_srcdir/pki|" \
		-e "s|\"index.html\"|\"$CARDS/default/index.html\"|" \
		-e 's|store = "wbxml"|store = "xml"|' \
		-e 's|oid_placement = "typeAttributes"|oid_placement = "applicationOID"|' \
		"$CARDS/default/card.conf" >"$1/card.conf"
}
printf 'app default {\n\tenable_default_driver = true;\n}\n' >"$T_TMP/opensc.conf"
export OPENSC_CONF=$T_TMP/opensc.conf

# 32767 bytes, the most OpenSC 0.23 reads: it refuses READ BINARY offsets past
# 7FFF ("invalid EF offset: 0x8000 > 0x7FFF") and has no B1.
pad=$((32767 - $(wc -c <"$CARDS/default/bootstrap.xml") - 10))
big_card "$T_TMP/b32" "$pad"
expect_eq "the 32 KB bootstrap is 32767 bytes" 32767 "$(wc -c <"$T_TMP/b32/bootstrap.xml")"
start_card b32 "$T_TMP/b32" $((VPORT + 1)) || exit 1
wait_for 10 sh -c "echo | scriptor -r '$R1'"
pkcs15-tool --reader "$R1" --read-data-object 2.23.43.7.1 --output "$T_TMP/do.bin" \
	>"$T_TMP/p15.out" 2>&1
check "pkcs15-tool --read-data-object returns the 32767-byte bootstrap byte for byte" \
	cmp -s "$T_TMP/do.bin" "$T_TMP/b32/bootstrap.xml"
stop_pid "$PID_b32"

# 60 KB: the FCP says 80 03 00 EB xx; B1 with the offset DO 54 reads past 7FFF.
big_card "$T_TMP/b60" 54000
start_card b60 "$T_TMP/b60" $((VPORT + 1)) || exit 1
wait_for 10 sh -c "echo | scriptor -r '$R1'"
size=$(wc -c <"$T_TMP/b60/bootstrap.xml")
run b60 "$R1" <<EOF2
00 A4 08 04 04 7F 50 64 32 00
00 B1 00 00 04 54 02 E0 00 12
00 B1 00 00 04 54 02 $(printf '%02X %02X' $(((size - 4) >> 8)) $(((size - 4) & 255))) 00
00 B1 00 00 04 54 02 $(printf '%02X %02X' $((size >> 8)) $((size & 255))) 00
00 B0 80 00 10
EOF2
expect_match "SELECT: the FCP gives the size on 3 bytes" \
	"80 03 00 $(printf '%02X %02X' $((size >> 8)) $((size & 255)))" "$(answer b60 1)"
expect_eq "B1 at offset E000: DO 53 with the file's bytes" \
	"53 10 $(od -An -tx1 -j $((0xE000)) -N 16 "$T_TMP/b60/bootstrap.xml" | tr a-f A-F | xargs) 90 00" \
	"$(answer b60 2)"
expect_eq "B1 at the last 4 bytes" \
	"53 04 $(od -An -tx1 -j $((size - 4)) "$T_TMP/b60/bootstrap.xml" | tr a-f A-F | xargs) 90 00" \
	"$(answer b60 3)"
expect_eq "B1 at the size: 6B 00" "6B 00" "$(answer b60 4)"
expect_eq "B0 cannot say 8000 (P1 b8 is the SFI flag, SFI 0): 6A 86" "6A 86" "$(answer b60 5)"
stop_pid "$PID_b60"
finish
