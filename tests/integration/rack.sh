#!/bin/bash
# rack.sh - many cards in one process, end to end: three cards with their own
# bootstraps and credentials, each fetched over BIP and TCP/IP on its own ports
# (--port-map NAME:..., then --port-base), each refusing the others'
# credentials; the ready file's "cards"; the control socket's --card (one card
# removed while the others serve); SIGHUP with one broken profile; the start-up
# errors of a rack.
. "$(dirname "$0")/lib.sh"
need curl python3 jq

CTL=$top_builddir/src/scwsemu-ctl
F=$SCWSEMU_FETCH

mkdir -p "$T_TMP/rack"
make_card "$T_TMP/rack/alpha" alpha 1
make_card "$T_TMP/rack/beta" beta 2
make_card "$T_TMP/rack/gamma" gamma 3

# fetch URL N [args]: scwsemu-fetch with card N's credentials; prints the body.
fetch() {
	local url=$1 n=$2
	shift 2
	"$F" "$url" --username "user-$n" --passphrase "pass-$n" --timeout 10 "$@" 2>/dev/null
}

# port READY CARD TRANSPORT CARDPORT: the card's host port on 127.0.0.1.
port() {
	jq -r --arg c "$2" --arg t "$3" --argjson p "$4" \
		'.cards[] | select(.name == $c) | .endpoints[] |
		 select(.transport == $t and .card_port == $p and .host == "127.0.0.1") | .port' "$1"
}

# ---- three cards, ephemeral ports per card
SOCK=$T_TMP/rack.sock
start_scwsemu r --cards "$T_TMP/rack" --tcpip 127.0.0.1:0 --bip-listen 127.0.0.1 \
	--port-map alpha:4116=0 --port-map beta:4116=0 --port-map gamma:4116=0 \
	--port-map 3516=0 --control "$SOCK" || exit 1
expect_eq "ready file lists three cards by name" "alpha beta gamma" \
	"$(jq -r '[.cards[].name] | join(" ")' "$READY_r")"
expect_eq "top-level endpoints carry every card's, each named" "alpha beta gamma" \
	"$(jq -r '[.endpoints[].card] | unique | join(" ")' "$READY_r")"
expect_match "one log line says the rack is ready" "3 cards ready" "$(cat "$LOG_r")"
for n in 1 2 3; do
	name=$(sed -n "${n}p" <<<"alpha
beta
gamma")
	B=$(port "$READY_r" "$name" bip 4116)
	P=$(port "$READY_r" "$name" tcpip 443)
	check "card $name has its own BIP and TCP/IP ports" test -n "$B" -a -n "$P"
	body=$(fetch "https://127.0.0.1:$B$BOOT" "$n" | tr -d '\0')
	expect_match "card $name over BIP serves its own bootstrap" "dm-$n\\.example\\.com" "$body"
	body=$(fetch "https://127.0.0.1:$P$BOOT" "$n" | tr -d '\0')
	expect_match "card $name over TCP/IP serves its own bootstrap" "dm-$n\\.example\\.com" "$body"
	other=$((n % 3 + 1))
	fetch "https://127.0.0.1:$B$BOOT" "$other" >/dev/null
	expect_eq "card $name refuses card $other's credentials (exit 4: 403)" 4 $?
done
BA=$(port "$READY_r" alpha bip 4116)
BB=$(port "$READY_r" beta bip 4116)
BG=$(port "$READY_r" gamma bip 4116)
check "three cards, three BIP ports" test "$(printf '%s\n' "$BA" "$BB" "$BG" | sort -u | wc -l)" = 3

# ---- the control socket picks the card
out=$("$CTL" --control "$SOCK" status)
expect_eq "status without --card summarises the rack" "3 3" \
	"$(jq -r '"\(.rack.cards) \(.rack.present)"' <<<"$out")"
expect_eq "the summary counts each card's responses" "3 3 3" \
	"$(jq -r '[.cards[].responses] | map(tostring) | join(" ")' <<<"$out")"
out=$("$CTL" --control "$SOCK" card remove 2>&1)
rc=$?
expect_eq "card remove without --card in a rack: exit 1" 1 "$rc"
expect_match "the error names the cards" "3 cards: name one .*alpha, beta, gamma" "$out"
out=$("$CTL" --control "$SOCK" --card delta status 2>&1)
expect_match "an unknown card is named back" "no card named 'delta' \\(the cards: alpha, beta, gamma\\)" "$out"
check "card remove --card beta" "$CTL" --control "$SOCK" --card beta card remove
code=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' --max-time 5 \
	"https://127.0.0.1:$BB$BOOT" 2>/dev/null)
expect_eq "beta removed: its BIP port refuses connections" 000 "$code"
body=$(fetch "https://127.0.0.1:$BA$BOOT" 1 | tr -d '\0')
expect_match "alpha keeps serving while beta is out" "dm-1\\.example\\.com" "$body"
body=$(fetch "https://127.0.0.1:$BG$BOOT" 3 | tr -d '\0')
expect_match "gamma keeps serving while beta is out" "dm-3\\.example\\.com" "$body"
expect_eq "status --card beta: not present" false \
	"$("$CTL" --control "$SOCK" --card beta status | jq -r .card.present)"
check "card insert --card beta" "$CTL" --control "$SOCK" --card beta card insert
BB=$(port "$READY_r" beta bip 4116)
body=$(fetch "https://127.0.0.1:$BB$BOOT" 2 | tr -d '\0')
expect_match "beta is back on the port the ready file gives" "dm-2\\.example\\.com" "$body"
check "faults are per card: http-status 503 on gamma" \
	"$CTL" --control "$SOCK" --card gamma fault add http-status 503
fetch "https://127.0.0.1:$BA$BOOT" 1 >/dev/null
expect_eq "alpha unaffected by gamma's fault" 0 $?
code=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' --max-time 5 \
	"https://127.0.0.1:$BG$BOOT" 2>/dev/null)
expect_eq "gamma answers 503" 503 "$code"
# alpha was asked five times: BIP, TCP/IP, beta's credentials, while beta
# was out, beside gamma's fault; its journal holds those and nothing else.
PA=$(port "$READY_r" alpha tcpip 443)
reqs=$("$CTL" --control "$SOCK" --card alpha requests)
expect_eq "alpha's journal holds alpha's five requests" 5 \
	"$(jq '[.entries[] | select(.kind == "request")] | length' <<<"$reqs")"
expect_eq "... each on one of alpha's ports" 0 \
	"$(jq --arg a "127.0.0.1:$BA" --arg p "127.0.0.1:$PA" \
		'[.entries[] | select(.kind == "request" and .local != $a and .local != $p)] | length' \
		<<<"$reqs")"

# ---- SIGHUP: a broken profile keeps that card on its previous one
sed -i 's|dm-1\.example\.com|dm-1b.example.com|' "$T_TMP/rack/alpha/bootstrap.xml"
cp "$T_TMP/rack/beta/card.conf" "$T_TMP/beta.conf"
echo 'this is = not a profile' >>"$T_TMP/rack/beta/card.conf"
kill -HUP "$PID_r"
wait_for 10 log_grown "$LOG_r" "reloaded card 'alpha'" 0
expect_match "beta's broken profile is named with file and line" \
	"card beta: .*beta/card.conf:[0-9]+" "$(cat "$LOG_r")"
expect_match "beta keeps its previous profile" "card beta: reload failed; still serving" \
	"$(cat "$LOG_r")"
body=$(fetch "https://127.0.0.1:$BA$BOOT" 1 | tr -d '\0')
expect_match "alpha reloaded: its new bootstrap" "dm-1b\\.example\\.com" "$body"
body=$(fetch "https://127.0.0.1:$BB$BOOT" 2 | tr -d '\0')
expect_match "beta still serves its previous bootstrap" "dm-2\\.example\\.com" "$body"
cp "$T_TMP/beta.conf" "$T_TMP/rack/beta/card.conf"
stop_pid "$PID_r"

# ---- --port-base: card i's j-th port at N + i*stride + j
BASE=$(python3 - <<'PY'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    b = random.randrange(20000, 60000, 10)
    if all(free(b + i) for i in range(30)):
        print(b); break
PY
)
start_scwsemu pb --card alpha="$T_TMP/rack/alpha" --card beta="$T_TMP/rack/beta" \
	--card "$T_TMP/rack/gamma" --bip-listen 127.0.0.1 --tcpip 127.0.0.1:443 \
	--port-base "$BASE" || exit 1
expect_eq "--port-base: alpha 4116, 3516, 443 on base+0..2" \
	"$BASE $((BASE + 1)) $((BASE + 2))" \
	"$(port "$READY_pb" alpha bip 4116) $(port "$READY_pb" alpha bip 3516) $(port "$READY_pb" alpha tcpip 443)"
expect_eq "--port-base: gamma (third) on base+20..22" \
	"$((BASE + 20)) $((BASE + 21)) $((BASE + 22))" \
	"$(port "$READY_pb" gamma bip 4116) $(port "$READY_pb" gamma bip 3516) $(port "$READY_pb" gamma tcpip 443)"
body=$(fetch "https://127.0.0.1:$((BASE + 10))$BOOT" 2 | tr -d '\0')
expect_match "beta at base+10 serves its bootstrap" "dm-2\\.example\\.com" "$body"
body=$(fetch "https://127.0.0.1:$((BASE + 22))$BOOT" 3 | tr -d '\0')
expect_match "gamma's TCP/IP at base+22 serves its bootstrap" "dm-3\\.example\\.com" "$body"
stop_pid "$PID_pb"

# ---- a rack's start-up mistakes: exit 2 and the way out
out=$("$SCWSEMU" --card "$T_TMP/rack/alpha" --card "$T_TMP/rack/beta" --no-tcpip 2>&1)
expect_eq "two cards on the same card port: exit 2" 2 $?
expect_match "... naming the way out" \
	"card beta: card port 4116 listens on host port 4116 for the first card: give --port-map beta:4116=PORT" "$out"
out=$("$SCWSEMU" --card "$T_TMP/rack/alpha" --card "$T_TMP/rack/beta" --no-tcpip \
	--port-map 4116=14116 2>&1)
expect_eq "an unnamed fixed --port-map for two cards: exit 2" 2 $?
expect_match "... naming NAME:PORT and --port-base" \
	"--port-map 4116=14116 would give 2 cards one host port: give NAME:4116=PORT per card, 4116=0, or --port-base N" "$out"
out=$("$SCWSEMU" --card "$T_TMP/rack/alpha" --port-map nosuch:4116=0 --no-tcpip 2>&1)
expect_eq "--port-map for a card not in the rack: exit 2" 2 $?
expect_match "... naming it" "no card named 'nosuch'" "$out"
out=$("$SCWSEMU" --card x="$T_TMP/rack/alpha" --card x="$T_TMP/rack/beta" 2>&1)
expect_eq "two cards with one name: exit 2" 2 $?
mkdir -p "$T_TMP/empty"
out=$("$SCWSEMU" --cards "$T_TMP/empty" 2>&1)
expect_eq "--cards of a directory without cards: exit 2" 2 $?
expect_match "... saying what a card is" "no card profile under it" "$out"

finish
