#!/bin/bash
# control.sh - the control socket end to end: scwsemu --control with
# scwsemu-ctl and raw socket clients; every command observed by real clients
# (curl over TCP/IP, scwsemu-fetch over BIP, the trace read by tshark); the
# socket's file rules (mode, stale, live, removal); hostile clients (garbage,
# a 1 MB line, a disconnect mid-request, many at once); scwsemu-ctl's exit
# codes; scenario files replayed.
. "$(dirname "$0")/lib.sh"
need curl python3 tshark jq

CTL=$top_builddir/src/scwsemu-ctl
F=$SCWSEMU_FETCH

# raw SOCKET: sends stdin as is, prints what comes back until the daemon
# closes or 2 s of silence.
RAW_PY='
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
s.settimeout(2)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    out += b"<timeout>"
sys.stdout.write(out.decode())
'
raw() { python3 -c "$RAW_PY" "$1"; }

# jget JSON FILTER: a value of a reply (jq; python3 starts too slowly on a
# loaded machine for forty checks).
jget() {
	jq -r "$2" <<<"$1"
}

http_code() { # URL [curl args]: the status curl sees, 000 when it cannot connect
	curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' --max-time 10 "$@" 2>/dev/null
}

# ---- the socket, the ready file, status
SOCK=$T_TMP/ctl.sock
(umask 000 && exec "$SCWSEMU" --card "$CARDS/default" --tcpip 127.0.0.1:0 --port-map 4116=0 \
	--port-map 3516=0 --control "$SOCK" --ready-file "$T_TMP/a.ready" 2>"$T_TMP/a.log") &
PID_a=$!
T_PIDS="$T_PIDS $PID_a"
for _ in $(seq 100); do [ -s "$T_TMP/a.ready" ] && break; sleep 0.05; done
ready=$(cat "$T_TMP/a.ready")
expect_match "ready file names the control socket" "\"control\": \"$SOCK\"" "$ready"
expect_eq "socket mode 0600 under umask 000" "srw-------" "$(stat -c %A "$SOCK")"
P=$(ready_port "$T_TMP/a.ready" tcpip 127.0.0.1)
B=$(ready_port "$T_TMP/a.ready" bip 127.0.0.1 4116)
U=https://127.0.0.1:$P$BOOT

out=$("$CTL" --ready-file "$T_TMP/a.ready" status)
expect_eq "scwsemu-ctl status exits 0" 0 $?
expect_eq "status: card present" true "$(jget "$out" '.ok and .card.present')"
expect_eq "status: bootstrap on" on "$(jget "$out" '.bootstrap')"
expect_eq "status: BIP channels of ports 4116 and 3516 in LISTEN" "3516 4116 LISTEN" \
	"$(jget "$out" '[([.channels[].card_port] | unique | .[] | tostring), ([.channels[].state] | unique | .[])] | join(" ")')"
expect_eq "status: one control connection (this one)" 1 "$(jget "$out" '.connections.control')"
apdus0=$(jget "$out" '.card.apdus')

expect_eq "curl over TCP/IP: 200" 200 "$(http_code "$U")"
timeout 30 "$F" "https://127.0.0.1:$B$BOOT" -o "$T_TMP/f1.wbxml" 2>"$T_TMP/f1.err"
expect_eq "scwsemu-fetch over BIP: exit 0" 0 $?
expect_eq "curl over TCP/IP: 404 for an unknown path" 404 "$(http_code "https://127.0.0.1:$P/nope")"
out=$("$CTL" --control "$SOCK" status)
expect_eq "status: responses per status code" "2 1 3" \
	"$(jget "$out" '"\(.responses["200"]) \(.responses["404"]) \(.responses.total)"')"
expect_eq "status: APDUs counted (the BIP fetch moved some)" true \
	"$(jget "$out" ".card.apdus > $apdus0")"
expect_eq "status: bytes each way on the channel of the fetch" true \
	"$(jget "$out" 'any(.channels[]; .bytes_in > 100 and .bytes_out > 1000)')"
text=$("$CTL" --control "$SOCK" --text status)
expect_match "--text: a channel table" 'channel +card_port +state +bytes_in +bytes_out' "$text"
expect_match "--text: responses" 'responses\.200: 2' "$text"

# ---- scwsemu-ctl exit codes: 0 ok, 1 error reply, 2 usage, 3 unreachable
"$CTL" --control "$SOCK" card insert >/dev/null 2>"$T_TMP/e1"
expect_eq "exit 1: an error reply (card already in)" 1 $?
expect_match "exit 1: the reason on stderr" 'the card is already in' "$(cat "$T_TMP/e1")"
"$CTL" --control "$SOCK" card pull >/dev/null 2>"$T_TMP/e2"
expect_eq "exit 2: unknown word" 2 $?
expect_match "exit 2: usage named" 'usage: card remove\|insert\|reset' "$(cat "$T_TMP/e2")"
"$CTL" --control "$SOCK" >/dev/null 2>&1
expect_eq "exit 2: no command" 2 $?
"$CTL" --control "$SOCK" --ready-file "$T_TMP/a.ready" status >/dev/null 2>&1
expect_eq "exit 2: --control and --ready-file" 2 $?
"$CTL" status >/dev/null 2>&1
expect_eq "exit 2: no socket named" 2 $?
"$CTL" --control "$T_TMP/none.sock" status >/dev/null 2>"$T_TMP/e3"
expect_eq "exit 3: nobody listens" 3 $?
expect_match "exit 3: says why" 'cannot reach .*none.sock' "$(cat "$T_TMP/e3")"
echo '{"pid": 1}' >"$T_TMP/nocontrol.ready"
"$CTL" --ready-file "$T_TMP/nocontrol.ready" status >/dev/null 2>&1
expect_eq "exit 3: ready file without control" 3 $?
SCWSEMU_CONTROL=$SOCK "$CTL" status >/dev/null
expect_eq "exit 0: SCWSEMU_CONTROL" 0 $?

# ---- the protocol on a raw connection: several requests, ids, errors
out=$(printf '%s\n' '{"cmd":"status","id":1}' 'garbage' '{"cmd":"card","args":["eject"],"id":"x"}' \
	'{"cmd":"bootstrap","args":["on"],"id":[2]}' | raw "$SOCK")
expect_eq "raw: four requests, four reply lines" 4 "$(printf '%s\n' "$out" | wc -l)"
expect_match "raw: reply 1 carries id 1" '^\{"ok":true,"card":.*"id":1\}' "$(sed -n 1p <<<"$out")"
expect_match "raw: garbage gets an error" '^\{"ok":false,"error":"not JSON: ' "$(sed -n 2p <<<"$out")"
expect_eq "raw: an unknown word" '{"ok":false,"error":"unknown '"'"'card eject'"'"'; usage: card remove|insert|reset","id":"x"}' \
	"$(sed -n 3p <<<"$out")"
expect_eq "raw: bootstrap on" '{"ok":true,"bootstrap":"on","id":[2]}' "$(sed -n 4p <<<"$out")"

# A 1 MB line: an error reply, then the daemon hangs up on that client.
out=$(python3 - "$SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
try:
    s.sendall(b'{"cmd":"status","id":"' + b"a" * (1 << 20) + b'"}\n{"cmd":"status"}\n')
except OSError as e:
    pass
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except ConnectionResetError:
    pass  # closed with the rest of our line unread: a reset after the reply
print(out.decode().strip() + " <end>")
PY
)
expect_eq "1 MB line: an error reply and the end" '{"ok":false,"error":"request line over 65536 bytes: closing"} <end>' "$out"
# Half a request, then gone; a client that never finishes its line.
python3 - "$SOCK" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'{"cmd":"sta'); s.close()
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'{"cmd":"status"}\n'); s.close()
PY
# Many clients at once.
n=$(python3 - "$SOCK" <<'PY'
import socket, sys
socks = []
for i in range(40):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); socks.append(s)
for i, s in enumerate(socks):
    s.sendall(b'{"cmd":"status","id":%d}\n' % i)
good = 0
for i, s in enumerate(socks):
    s.settimeout(5)
    data = b""
    while not data.endswith(b"\n"):
        data += s.recv(65536)
    good += data.startswith(b'{"ok":true') and data.rstrip().endswith(b'"id":%d}' % i)
print(good)
PY
)
expect_eq "40 clients at once, each its own reply" 40 "$n"
expect_eq "after hostile clients: the daemon still serves curl" 200 "$(http_code "$U")"
out=$("$CTL" --control "$SOCK" status)
expect_eq "after hostile clients: status answers, one control connection" 1 \
	"$(jget "$out" '.connections.control')"
expect_eq "daemon alive" 0 "$(kill -0 $PID_a; echo $?)"

# ---- bootstrap off / on / set
"$CTL" --control "$SOCK" bootstrap off >/dev/null
body=$(curl -sS --cacert "$CA" "$U" -w ' %{http_code}')
expect_eq "bootstrap off: curl gets 404 not available" "not available 404" "$(echo $body)"
timeout 30 "$F" "https://127.0.0.1:$B$BOOT" >/dev/null 2>&1
expect_eq "bootstrap off: scwsemu-fetch over BIP exits 3 (none available)" 3 $?
expect_eq "bootstrap off: status says off" off "$(jget "$("$CTL" --control "$SOCK" status)" '.bootstrap')"
"$CTL" --control "$SOCK" bootstrap on >/dev/null
expect_eq "bootstrap on: 200 again" 200 "$(http_code "$U")"

sed 's/dm\.example\.com/CHANGED-BY-CONTROL.example/' "$CARDS/default/bootstrap.xml" >"$T_TMP/new.xml"
out=$(cd "$T_TMP" && "$CTL" --control "$SOCK" bootstrap set new.xml)
expect_eq "bootstrap set (relative path, made absolute by scwsemu-ctl): ok" true "$(jget "$out" '.ok and .store == "wbxml"')"
got=$(curl -sS --cacert "$CA" -H 'Accept: application/vnd.syncml.dm+xml' "$U")
expect_match "bootstrap set: curl gets the new document" 'CHANGED-BY-CONTROL' "$got"
timeout 30 "$F" --xml "https://127.0.0.1:$B$BOOT" >"$T_TMP/bip.xml" 2>/dev/null
expect_match "bootstrap set: scwsemu-fetch over BIP too" 'CHANGED-BY-CONTROL' "$(cat "$T_TMP/bip.xml")"
printf '<SyncML>\n<SyncHdr>\n</SyncML>\n' >"$T_TMP/bad.xml"
"$CTL" --control "$SOCK" bootstrap set "$T_TMP/bad.xml" >/dev/null 2>"$T_TMP/e4"
expect_eq "bootstrap set malformed XML: exit 1" 1 $?
expect_match "bootstrap set malformed XML: file:line named" "bad.xml:3: " "$(cat "$T_TMP/e4")"
printf '\x03\x01\x6a\x00\xff\xff' >"$T_TMP/bad.wbxml"
"$CTL" --control "$SOCK" bootstrap set "$T_TMP/bad.wbxml" >/dev/null 2>"$T_TMP/e5"
expect_match "bootstrap set broken WBXML: refused" "bad.wbxml: neither XML .* nor WBXML" "$(cat "$T_TMP/e5")"
"$CTL" --control "$SOCK" bootstrap set "$T_TMP/f1.wbxml" >/dev/null
expect_eq "bootstrap set a WBXML file: ok" 0 $?
curl -sS --cacert "$CA" "$U" -o "$T_TMP/back.wbxml"
expect_eq "bootstrap set WBXML: served byte for byte" "$(md5sum <"$T_TMP/f1.wbxml")" "$(md5sum <"$T_TMP/back.wbxml")"

# ---- fault add / list / clear (the registry; each kind's effect is in faults.sh)
out=$("$CTL" --control "$SOCK" fault add http-status 503 count=2 port=1)
expect_eq "fault add: the new fault's number" 1 "$(jget "$out" '.fault')"
out=$("$CTL" --control "$SOCK" fault add apdu-sw B0 6F00 after=3 port=1)
expect_eq "fault add: a second one" 2 "$(jget "$out" '.fault')"
out=$("$CTL" --control "$SOCK" fault list)
expect_eq "fault list: both, with what is left" "http-status 503 2 | apdu-sw B0 6F00 1" \
	"$(jget "$out" '[.faults[] | "\(.kind) \(.args) \(.left)"] | join(" | ")')"
out=$("$CTL" --control "$SOCK" status)
expect_eq "status lists the armed faults" "1 2" "$(jget "$out" '[.faults[].id | tostring] | join(" ")')"
text=$("$CTL" --control "$SOCK" --text fault list)
expect_match "--text: a fault table" 'id +kind +args' "$text"
expect_eq "fault clear 1" '{"ok":true,"cleared":1}' "$("$CTL" --control "$SOCK" fault clear 1)"
"$CTL" --control "$SOCK" fault clear 1 >/dev/null 2>"$T_TMP/e7"
expect_eq "fault clear of an unknown id: exit 1" 1 $?
expect_match "fault clear of an unknown id: says so" 'no fault 1' "$(cat "$T_TMP/e7")"
"$CTL" --control "$SOCK" fault add http-status 99 >/dev/null 2>"$T_TMP/e8"
expect_eq "fault add with a bad argument: exit 2 (nothing sent)" 2 $?
expect_match "fault add with a bad argument: the registry's reason" 'CODE must be 200-599' "$(cat "$T_TMP/e8")"
out=$(printf '%s\n' '{"cmd":"fault","args":["add","melt-down"]}' | raw "$SOCK")
expect_match "fault add of an unknown kind over the socket: error reply" '^\{"ok":false,"error":".*melt-down' "$out"
expect_eq "fault clear (all)" '{"ok":true,"cleared":"all"}' "$("$CTL" --control "$SOCK" fault clear)"
expect_eq "fault list: empty" '{"ok":true,"faults":[]}' "$("$CTL" --control "$SOCK" fault list)"

# ---- reload (as SIGHUP): errors come back in the reply
cp -r "$CARDS/default" "$T_TMP/card"
sed -i "s|\"\.\./\.\./pki/|\"$top_srcdir/pki/|" "$T_TMP/card/card.conf"
start_scwsemu r --card "$T_TMP/card" --no-bip --tcpip 127.0.0.1:0 --control "$T_TMP/r.sock" || exit 1
PR=$(ready_port "$READY_r" tcpip 127.0.0.1)
"$CTL" --control "$T_TMP/r.sock" bootstrap set "$T_TMP/new.xml" >/dev/null
out=$("$CTL" --control "$T_TMP/r.sock" reload)
expect_eq "reload: ok" true "$(jget "$out" '.ok')"
got=$(curl -sS --cacert "$CA" -H 'Accept: application/vnd.syncml.dm+xml' "https://127.0.0.1:$PR$BOOT")
expect_eq "reload: the profile's bootstrap is back" 0 "$(grep -c CHANGED-BY-CONTROL <<<"$got")"
sed -i 's/^name = .*/name = "bad name!"/' "$T_TMP/card/card.conf"
"$CTL" --control "$T_TMP/r.sock" reload >/dev/null 2>"$T_TMP/e6"
expect_eq "reload of a broken profile: exit 1" 1 $?
expect_match "reload of a broken profile: file:line in the reply" 'card\.conf:[0-9]+: ' "$(cat "$T_TMP/e6")"
expect_eq "reload failed: still serving" 200 "$(http_code "https://127.0.0.1:$PR$BOOT")"

# ---- the socket file: live, stale, not a socket, removed at exit
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --control "$T_TMP/r.sock" 2>"$T_TMP/live.log"
expect_eq "a live socket: exit 2" 2 $?
expect_match "a live socket: says so" 'another process listens on this control socket' "$(cat "$T_TMP/live.log")"
kill -9 "$PID_r"
wait "$PID_r" 2>/dev/null
expect_eq "SIGKILL leaves the socket behind" S "$([ -S "$T_TMP/r.sock" ] && echo S)"
start_scwsemu r2 --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --control "$T_TMP/r.sock" || exit 1
expect_match "a stale socket is replaced" 'replaced the stale socket' "$(cat "$LOG_r2")"
expect_eq "the new daemon answers on it" 0 "$("$CTL" --control "$T_TMP/r.sock" status >/dev/null; echo $?)"
stop_pid "$PID_r2"
expect_eq "removed at exit" gone "$([ -e "$T_TMP/r.sock" ] || echo gone)"
echo data >"$T_TMP/plain"
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --control "$T_TMP/plain" 2>"$T_TMP/plain.log"
expect_eq "a regular file at the path: exit 2" 2 $?
expect_match "a regular file at the path: left alone and named" 'plain exists and is not a socket' "$(cat "$T_TMP/plain.log")"
expect_eq "the regular file is untouched" data "$(cat "$T_TMP/plain")"

# ---- card remove during a fetch, as the client and the trace see it
start_scwsemu tr --no-tcpip --port-map 4116=0 --port-map 3516=0 --trace "$T_TMP/rm.pcap" \
	--control "$T_TMP/tr.sock" || exit 1
PH=$(ready_port "$READY_tr" bip 127.0.0.1 3516)
python3 - "$PH" "$T_TMP/tr.sock" "$CTL" >"$T_TMP/mid.out" <<'PY'
import socket, subprocess, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"GET /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: localuicc\r\n")  # no end of head
time.sleep(0.5)  # the card takes these bytes (RECEIVE DATA)
rc = subprocess.call([sys.argv[3], "--control", sys.argv[2], "card", "remove"], stdout=subprocess.DEVNULL)
c.settimeout(5)
try:
    got = c.recv(4096)
    print("rc=%d got=%r" % (rc, got))
except ConnectionResetError:
    print("rc=%d got=reset" % rc)
PY
expect_match "card remove mid-request: the client's connection ends with no answer" \
	"^rc=0 got=(b''|reset)$" "$(cat "$T_TMP/mid.out")"
st=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PH$BOOT" 2>/dev/null)
expect_eq "card out: nobody listens on the BIP port" 000 "$st"
"$CTL" --control "$T_TMP/tr.sock" card insert >/dev/null
expect_eq "card insert: ok" 0 $?
PB=$(ready_port "$READY_tr" bip 127.0.0.1 4116)
expect_eq "card back: a BIP fetch over the new listeners" 200 "$(http_code "https://127.0.0.1:$PB$BOOT")"
stop_pid "$PID_tr"
tp=$(tshark -r "$T_TMP/rm.pcap" -Y 'gsm_sim.apdu.ins == 0x10' -T fields -e frame.number 2>/dev/null | tr '\n' ' ')
expect_match "tshark: two TERMINAL PROFILEs (start-up, insertion)" '^[0-9]+ [0-9]+ $' "$tp"
tp2=$(echo $tp | cut -d' ' -f2)
last_rd=$(tshark -r "$T_TMP/rm.pcap" -Y "etsi_cat.comp_tlv.cmd_type == 0x42 && frame.number < ${tp2:-0}" \
	-T fields -e frame.number 2>/dev/null | tail -1)
expect_match "tshark: the card read the partial request (RECEIVE DATA) before it went" '^[0-9]+$' "$last_rd"
between=$(tshark -r "$T_TMP/rm.pcap" -Y "frame.number > ${last_rd:-0} && frame.number < ${tp2:-0} && etsi_cat.comp_tlv.cmd_type == 0x43" 2>/dev/null | wc -l)
expect_eq "tshark: no SEND DATA between that read and the removal: no answer left the card" 0 "$between"
after=$(tshark -r "$T_TMP/rm.pcap" -Y "frame.number > ${tp2:-0} && etsi_cat.comp_tlv.cmd_type == 0x40" 2>/dev/null | wc -l)
expect_eq "tshark: OPEN CHANNELs again after the insertion" 1 $((after > 0))

# ---- --scenario: the same story twice, the same observed sequence
cat >"$T_TMP/story.txt" <<'STORY'
# the handset fetches once, the card is pulled, comes back, the bootstrap goes
after-requests=1 card remove
at=3 card insert        # seconds after ready
after-requests=2 bootstrap off
at=8 bootstrap on
STORY
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
replay() { # NAME: the status codes a client sees along the story, in $seq
	seq=""
	start_scwsemu "$1" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 \
		--scenario "$T_TMP/story.txt" || return 1
	local t0 port
	t0=$(now_ms)
	port=$(jq -r '.endpoints[] | select(.transport == "tcpip") | .port' "$T_TMP/$1.ready")
	seq="$seq $(http_code "https://127.0.0.1:$port$BOOT")"
	sleep 0.3
	seq="$seq $(http_code "https://127.0.0.1:$port$BOOT")"
	while [ $(($(now_ms) - t0)) -lt 3400 ]; do sleep 0.05; done
	seq="$seq $(http_code "https://127.0.0.1:$port$BOOT")"
	sleep 0.2
	seq="$seq $(http_code "https://127.0.0.1:$port$BOOT")"
	while [ $(($(now_ms) - t0)) -lt 8400 ]; do sleep 0.05; done
	seq="$seq $(http_code "https://127.0.0.1:$port$BOOT")"
	seq=${seq# }
	stop_pid "$(eval echo \$PID_$1)"
}
replay sc1
s1=$seq
replay sc2
s2=$seq
expect_eq "scenario: what the client sees (200, card out, back, bootstrap off, on)" \
	"200 000 200 404 200" "$s1"
expect_eq "scenario replayed: the same sequence" "$s1" "$s2"
expect_match "scenario: each step logged with file:line and its reply" \
	'story.txt:3: card insert: \{"ok":true,"card":"inserted"\}' "$(cat "$T_TMP/sc1.log")"
expect_match "scenario: the end logged" 'every step ran' "$(cat "$T_TMP/sc2.log")"

printf 'status\n\nat=soon card insert\n' >"$T_TMP/bad.txt"
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --scenario "$T_TMP/bad.txt" 2>"$T_TMP/bad.log"
expect_eq "scenario with an error: exit 2" 2 $?
expect_match "scenario with an error: file:line and the reason" \
	'bad.txt:3: at=soon: at=SECONDS' "$(cat "$T_TMP/bad.log")"
printf 'card remove\ncard pull\n' >"$T_TMP/bad2.txt"
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --scenario "$T_TMP/bad2.txt" 2>"$T_TMP/bad2.log"
expect_match "scenario with an unknown word: file:line and the usage" \
	"bad2.txt:2: unknown 'card pull'; usage: card remove\\|insert\\|reset" "$(cat "$T_TMP/bad2.log")"
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --scenario "$T_TMP/none.txt" 2>"$T_TMP/bad3.log"
expect_eq "scenario file missing: exit 2" 2 $?

finish
