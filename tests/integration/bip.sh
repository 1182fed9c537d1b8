#!/bin/bash
# bip.sh - the fallback over BIP end to end: the real daemon (card, proactive
# engine, in-process APDU link, terminal-side gateway) on ephemeral loopback
# ports; curl for every endpoint row over 127.0.0.1 and ::1, 30 concurrent
# clients through 7 channels, clients killed mid-request and mid-handshake,
# and a request arriving one byte per TCP segment.
. "$(dirname "$0")/lib.sh"
need curl python3
. "$(dirname "$0")/endpoints.sh"

"$SCWSEMU_CARD" bootstrap "$CARDS/default" >"$T_TMP/expected.wbxml"

start_scwsemu bip --card "$CARDS/default" --no-tcpip --port-map 4116=0 --port-map 3516=0 || exit 1
P4=$(ready_port "$READY_bip" bip 127.0.0.1 4116)
P6=$(ready_port "$READY_bip" bip ::1 4116)
H4=$(ready_port "$READY_bip" bip 127.0.0.1 3516)
expect_match "ready file: BIP 4116 on 127.0.0.1" '^[0-9]+$' "$P4"
expect_eq "ready file: the same host port on ::1" "$P4" "$P6"
expect_match "ready file: BIP 3516 (http)" '^[0-9]+$' "$H4"
expect_match "ready file: card_port and host port both listed" \
	"\"transport\": \"bip\", \"scheme\": \"https\", \"host\": \"127.0.0.1\", \"port\": $P4, \"card_port\": 4116" \
	"$(cat "$READY_bip")"
log=$(cat "$LOG_bip")
expect_match "the card opened channels in UICC server mode" 'channel 1: port 4116 LISTEN, buffer size 1400' "$log"

endpoint_table "bip IPv4:" "$P4" 127.0.0.1
endpoint_table "bip IPv6:" "$P6" '[::1]'

st=$(curl -sS -o "$T_TMP/h.b" -w '%{http_code}' "http://127.0.0.1:$H4$BOOT")
expect_eq "port 3516 (plain HTTP): the bootstrap is refused" 403 "$st"
expect_match "... saying it is HTTPS only" 'HTTPS only' "$(cat "$T_TMP/h.b")"
st=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$H4/")
expect_eq "port 3516: / serves the index page" 200 "$st"
stop_pid "$PID_bip"

# A card with 7 channels on 4116: 30 concurrent clients all get 200.
mkdir -p "$T_TMP/seven"
sed -e "s|\.\./\.\./pki|$top_srcdir/pki|; s|\"index.html\"|\"$CARDS/default/index.html\"|; s|\"bootstrap.xml\"|\"$CARDS/default/bootstrap.xml\"|" \
	-e 's|{ port = 4116; scheme = "https"; channels = 5; },|{ port = 4116; scheme = "https"; channels = 7; }|' \
	-e '/{ port = 3516; scheme = "http"; channels = 2; }/d' \
	"$CARDS/default/card.conf" >"$T_TMP/seven/card.conf"
start_scwsemu seven --card "$T_TMP/seven" --no-tcpip --port-map 4116=0 || exit 1
P=$(ready_port "$READY_seven" bip 127.0.0.1 4116)
expect_match "seven: 7 channels on 4116" 'channel 7: port 4116 LISTEN' "$(cat "$LOG_seven")"
curl_pids=""
for i in $(seq 30); do
	curl -sS --max-time 30 --cacert "$CA" -F "devid=IMEI:$i" -o "$T_TMP/c$i.b" \
		-w '%{http_code}\n' "https://127.0.0.1:$P$BOOT" >"$T_TMP/c$i.st" 2>&1 &
	curl_pids="$curl_pids $!"
done
for p in $curl_pids; do wait "$p"; done
n=0
for i in $(seq 30); do
	[ "$(cat "$T_TMP/c$i.st")" = 200 ] && cmp -s "$T_TMP/c$i.b" "$T_TMP/expected.wbxml" && n=$((n + 1))
done
expect_eq "30 concurrent clients through 7 channels: all 200 with the bootstrap" 30 "$n"
expect_eq "... and nobody was reset" 0 "$(grep -c 'reset' "$T_TMP"/c*.st | awk -F: '{s+=$2} END {print s+0}')"

# A client killed mid-request and one killed mid-handshake leave the channel
# back in LISTEN; the next fetch works. 7 of each, so every channel is hit.
n_left0=$(grep -cE 'channel [0-9]+: client (closed|connection dropped)' "$LOG_seven")
CA=$CA python3 - "$P" >"$T_TMP/kill.out" 2>&1 <<'PY'
import socket, ssl, sys, os
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile=os.environ["CA"])
for i in range(7):
    # mid-handshake: send a ClientHello-sized prefix, then RST.
    s = socket.create_connection(("127.0.0.1", port))
    s.send(b"\x16\x03\x01\x00\xc0\x01\x00\x00\xbc\x03\x03")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    # mid-request: full handshake, half a request, then close.
    raw = socket.create_connection(("127.0.0.1", port))
    t = ctx.wrap_socket(raw, server_hostname="localhost")
    t.send(b"POST /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: localuicc\r\nContent-Length: 500\r\n\r\nhalf")
    t.close()
print("done")
PY
expect_eq "kill script ran" done "$(tail -1 "$T_TMP/kill.out")"
# Every one of the 14 killed clients has been seen leaving (its channel is
# back in LISTEN) before the next round starts.
wait_for 10 log_grown "$LOG_seven" 'channel [0-9]+: client (closed|connection dropped)' \
	$((n_left0 + 13))
curl_pids=""
for i in $(seq 7); do
	curl -sS --max-time 10 --cacert "$CA" -o /dev/null -w '%{http_code}\n' \
		"https://127.0.0.1:$P$BOOT" >"$T_TMP/k$i.st" 2>&1 &
	curl_pids="$curl_pids $!"
done
for p in $curl_pids; do wait "$p"; done
expect_eq "after killed clients, 7 concurrent fetches (every channel) get 200" \
	"200 200 200 200 200 200 200" "$(cat "$T_TMP"/k?.st | tr '\n' ' ' | sed 's/ $//')"
expect_match "the gateway reported the clients leaving" 'client (closed|reset|gone)' "$(cat "$LOG_seven")"

# One byte per TCP segment: TLS in memory, each ciphertext byte its own send.
out=$(CA=$CA python3 - "$P" 2>&1 <<'PY'
import socket, ssl, sys, time, os
port = int(sys.argv[1])
ctx = ssl.create_default_context(cafile=os.environ["CA"])
inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(10)
def flush():
    data = outg.read()
    for b in data:
        s.send(bytes([b]))
        time.sleep(0.0005)
while True:
    try:
        obj.do_handshake()
        break
    except ssl.SSLWantReadError:
        flush()
        inc.write(s.recv(65536))
body = b"--b1\r\nContent-Disposition: form-data; name=\"devid\"\r\n\r\nIMEI:42\r\n--b1--\r\n"
req = (b"POST /OMA/DM/Bootstrap.xml HTTP/1.1\r\nHost: localuicc\r\nConnection: close\r\n"
       b"Content-Type: multipart/form-data; boundary=b1\r\n"
       b"Content-Length: %d\r\n\r\n" % len(body)) + body
obj.write(req)
flush()
resp = b""
while True:
    try:
        d = obj.read(65536)
        if not d:
            break  # close_notify: SSLObject.read returns b"" at a clean TLS EOF
        resp += d
    except ssl.SSLWantReadError:
        d = s.recv(65536)
        if not d:
            break
        inc.write(d)
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        break
print(resp.split(b"\r\n")[0].decode())
PY
)
expect_eq "a request arriving one byte per TCP segment gets 200" "HTTP/1.1 200 OK" "$out"
stop_pid "$PID_seven"

finish
