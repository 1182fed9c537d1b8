#!/bin/bash
# rack_pcsc.sh - a rack over PC/SC: two cards of one scwsemu --vpcd on vpcd's
# two slots (card i on the vpcd port + i), seen by opensc-tool -l through a
# private pcscd, and fetched through one gateway process driving both readers
# (--reader twice), each card serving its own bootstrap.
. "$(dirname "$0")/lib.sh"
need curl python3 jq opensc-tool scriptor pcscd
. "$(dirname "$0")/pcsc_lib.sh"

make_card "$T_TMP/cards/alpha" alpha 1
make_card "$T_TMP/cards/beta" beta 2

start_pcscd || exit 1
"$SCWSEMU" --card alpha="$T_TMP/cards/alpha" --card beta="$T_TMP/cards/beta" \
	--vpcd "127.0.0.1:$VPORT" --no-tcpip 2>"$T_TMP/cards.log" &
PID_cards=$!
T_PIDS="$T_PIDS $PID_cards"
check "both cards reach vpcd" wait_for 10 log_has "$T_TMP/cards.log" "connected to vpcd" 1
check "pcscd sees a card in slot 0" wait_for 10 card_in_reader "$R0"
check "pcscd sees a card in slot 1" wait_for 10 card_in_reader "$R1"
out=$(opensc-tool -l 2>&1)
expect_match "opensc-tool -l: a card in $R0" "Yes.*$R0" "$out"
expect_match "opensc-tool -l: a card in $R1" "Yes.*$R1" "$out"

# One gateway, a card per reader: each card's 4116 on its own host port.
"$SCWSEMU" --reader alpha="$R0" --reader beta="$R1" --bip-listen 127.0.0.1 \
	--port-map alpha:4116=0 --port-map beta:4116=0 --port-map 3516=0 \
	--ready-file "$T_TMP/gw.ready" 2>"$T_TMP/gw.log" &
PID_gw=$!
T_PIDS="$T_PIDS $PID_gw"
both_up() {
	[ "$(jq '[.cards[] | select(.endpoints | length > 0)] | length' "$T_TMP/gw.ready" \
		2>/dev/null)" = 2 ]
}
if ! check "the gateway's ready file lists both readers' cards" wait_for 30 both_up; then
	cat "$T_TMP/gw.log" >&2
fi
for n in 1 2; do
	name=alpha
	[ "$n" = 2 ] && name=beta
	B=$(jq -r --arg c "$name" '.cards[] | select(.name == $c) | .endpoints[] |
		select(.card_port == 4116) | .port' "$T_TMP/gw.ready")
	body=$("$SCWSEMU_FETCH" "https://127.0.0.1:$B$BOOT" --username "user-$n" \
		--passphrase "pass-$n" --timeout 30 2>"$T_TMP/f$n.err" | tr -d '\0')
	expect_match "card $name through reader $n serves its own bootstrap" \
		"dm-$n\\.example\\.com" "$body"
done
stop_pid "$PID_gw"
stop_pid "$PID_cards"
finish
