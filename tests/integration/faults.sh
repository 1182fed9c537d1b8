#!/bin/bash
# faults.sh - fault injection end to end: each fault kind armed in the real
# daemon, then observed by a real client: curl and openssl s_client over
# TCP/IP (status, Retry-After, bytes, Content-Type, certificate verification,
# alerts, durations), scwsemu-fetch and curl over BIP (throughput, a dropped
# link, an OPEN CHANNEL refused), and tshark in the --trace pcap (the
# Channel status event "link dropped", the failed OPEN CHANNEL).
. "$(dirname "$0")/lib.sh"
need curl openssl python3 tshark

F=$SCWSEMU_FETCH
CTL=$top_builddir/src/scwsemu-ctl
"$SCWSEMU_CARD" bootstrap "$CARDS/default" >"$T_TMP/expected.wbxml"

# The daemon steered through its control socket $SOCK.
daemon() { # NAME [scwsemu args...]
	local name=$1
	shift
	SOCK=$T_TMP/$name.sock
	start_scwsemu "$name" --card "$CARDS/default" --control "$SOCK" "$@"
}
# arm "KIND ARGS..." ...: scwsemu-ctl fault add, one per argument.
arm() {
	for f in "$@"; do
		# shellcheck disable=SC2086
		"$CTL" --control "$SOCK" fault add $f >/dev/null ||
			not_ok "scwsemu-ctl fault add $f"
	done
}
disarm() { "$CTL" --control "$SOCK" fault clear >/dev/null || not_ok "fault clear"; }

secs() { python3 -c 'import time; print(time.monotonic())'; }
# within DESCRIPTION MIN MAX SECONDS: MIN <= SECONDS <= MAX.
within() {
	if python3 -c 'import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(not a <= t <= b)' \
		"$2" "$3" "$4"; then
		ok "$1 ($4 s)"
	else
		not_ok "$1: $4 s, not within $2..$3 s"
	fi
}

get() { # URL OUT [curl args]: "CODE TIME" (curl's exit status in $?)
	local url=$1 out=$2
	shift 2
	curl -sS --cacert "$CA" --max-time 20 -o "$out" -D "$out.head" \
		-w '%{http_code} %{time_total}' "$@" "$url" 2>"$out.err"
}

# ---- TCP/IP: the response hook -------------------------------------------------

daemon h --no-bip --tcpip 127.0.0.1:0 || exit 1
U=https://127.0.0.1:$(ready_port "$READY_h" tcpip 127.0.0.1)$BOOT
arm "http-status 503" "http-status 404 after=1 count=2" "http-status 500 port=1"
r=$(get "$U" "$T_TMP/s1")
expect_eq "http-status 503: curl sees 503" 503 "${r% *}"
expect_match "... with Retry-After" '^Retry-After: 2' "$(tr -d '\r' <"$T_TMP/s1.head")"
expect_match "... and a body naming the fault" 'fault injected: http-status 503' "$(cat "$T_TMP/s1")"
r=$(get "$U" "$T_TMP/s2")
expect_eq "http-status 404 after=1 count=2: the next two requests get 404 (1)" 404 "${r% *}"
r=$(get "$U" "$T_TMP/s3")
expect_eq "... (2)" 404 "${r% *}"
r=$(get "$U" "$T_TMP/s4")
expect_eq "... then 200 again; port=1 never matched" 200 "${r% *}"
check "... with the bootstrap byte for byte" cmp -s "$T_TMP/s4" "$T_TMP/expected.wbxml"
expect_eq "other paths are not bootstrap requests: / is 200" 200 "$(curl -sS --cacert "$CA" \
	-o /dev/null -w '%{http_code}' "${U%$BOOT}/")"
expect_match "the daemon logs each fault that fired" \
	'fault fired id=1 kind=http-status args=503 port=[0-9]+ left=0' "$(cat "$LOG_h")"
expect_eq "fault list: what fired, what is left" "1:1:0 2:2:0 3:0:1" \
	"$("$CTL" --control "$SOCK" fault list | python3 -c 'import json, sys
print(" ".join("%d:%d:%s" % (f["id"], f["fired"], f["left"]) for f in json.load(sys.stdin)["faults"]))')"
disarm

arm "http-delay 1500" "http-drip 1000 after=1"
r=$(get "$U" "$T_TMP/d1")
expect_eq "http-delay 1500: 200" 200 "${r% *}"
within "... after about 1.5 s" 1.4 20 "${r#* }"
r=$(get "$U" "$T_TMP/d2")
expect_eq "http-drip 1000: 200" 200 "${r% *}"
check "... with every byte of the bootstrap" cmp -s "$T_TMP/d2" "$T_TMP/expected.wbxml"
# About 1,450 bytes of answer (head, body, TLS records) at 1,000 B/s.
within "... trickling for about as long as its bytes say" 1.2 20 "${r#* }"
disarm

arm "http-truncate 0" "http-body wrong-type after=1" "http-body wbxml-garbage after=2 count=2"
get "$U" "$T_TMP/t1" >/dev/null
expect_eq "http-truncate 0: curl gets no answer (exit 52, empty reply)" 52 $?
r=$(get "$U" "$T_TMP/t2")
expect_eq "http-body wrong-type: 200" 200 "${r% *}"
expect_match "... under Content-Type text/html" '^Content-Type: text/html' \
	"$(tr -d '\r' <"$T_TMP/t2.head")"
check "... with the bootstrap's bytes" cmp -s "$T_TMP/t2" "$T_TMP/expected.wbxml"
r=$(get "$U" "$T_TMP/t3")
expect_match "http-body wbxml-garbage: 200 under the WBXML type" \
	'^Content-Type: application/vnd.syncml.dm\+wbxml' "$(tr -d '\r' <"$T_TMP/t3.head")"
expect_eq "... a WBXML 1.3 header over a broken token stream" "03016a006d6cc37fff00ff01" \
	"$(od -An -tx1 "$T_TMP/t3" | tr -d ' \n')"
"$F" --get "$U" --xml -o "$T_TMP/t3.xml" 2>"$T_TMP/t3.ferr"
expect_eq "... which scwsemu-fetch --xml cannot decode (exit 1)" 1 $?
disarm

arm "http-truncate 200 count=0"
get "$U" "$T_TMP/u1" >/dev/null
expect_eq "http-truncate 200: curl sees the stream end mid-answer (exit 18 or 56)" 1 \
	"$(grep -Eq 'curl: \((18|56|8)\)' "$T_TMP/u1.err" && echo 1 || cat "$T_TMP/u1.err")"
expect_eq "... having had 200 bytes of the answer at most" 1 \
	"$(($(wc -c <"$T_TMP/u1") + $(wc -c <"$T_TMP/u1.head") <= 200))"
disarm

# ---- TCP/IP: the handshake hook ------------------------------------------------

P=$(ready_port "$READY_h" tcpip 127.0.0.1)
arm "tls-cert wrong-name" "tls-cert expired after=1" "tls-cert untrusted after=2" \
	"tls-cert self-signed after=3" "tls-alert after=4"
for want in "wrong-name:no alternative certificate subject name matches" \
	"expired:certificate has expired" \
	"untrusted:unable to get local issuer certificate" \
	"self-signed:self.signed certificate"; do
	get "$U" "$T_TMP/c.out" >/dev/null
	rc=$?
	expect_eq "tls-cert ${want%%:*}: curl refuses the certificate (exit 60)" 60 $rc
	expect_match "... saying why" "${want#*:}" "$(cat "$T_TMP/c.out.err")"
done
out=$(timeout 10 openssl s_client -connect 127.0.0.1:$P -CAfile "$CA" </dev/null 2>&1)
expect_match "tls-alert: openssl s_client gets a handshake_failure alert" \
	'alert handshake failure' "$out"
r=$(get "$U" "$T_TMP/c2")
expect_eq "every fault spent: the next handshake verifies and gets 200" 200 "${r% *}"
disarm

arm "tls-cert expired count=0"
out=$(timeout 10 openssl s_client -connect 127.0.0.1:$P -CAfile "$CA" \
	-verify_hostname localuicc </dev/null 2>&1)
expect_match "tls-cert expired: s_client's verify result 10" \
	'Verify return code: 10 \(certificate has expired\)' "$out"
expect_match "... the certificate it saw ran out in 2021" 'NotAfter: Jan  1 00:00:00 2021 GMT' \
	"$(timeout 10 openssl s_client -connect 127.0.0.1:$P </dev/null 2>/dev/null |
		openssl x509 -noout -dates 2>&1 | sed 's/notAfter=/NotAfter: /')"
disarm
arm "tls-cert expired port=1"
r=$(get "$U" "$T_TMP/c3")
expect_eq "port=: a fault for another port leaves this one alone" 200 "${r% *}"
stop_pid "$PID_h"

# ---- target=server|card: the emulated Bootstrap Server and the card apart ------

daemon v --no-bip --tcpip 127.0.0.1:0 --bootstrap-server 127.0.0.1:0 || exit 1
UC=https://127.0.0.1:$(ready_port "$READY_v" tcpip 127.0.0.1)$BOOT
US=https://127.0.0.1:$(ready_port "$READY_v" server 127.0.0.1)/bootstrap
arm "http-status 503 target=server count=0" "http-status 404 target=card count=0"
expect_eq "target=server: the Bootstrap Server answers 503" 503 \
	"$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$US")"
expect_eq "target=card: the card's SCWS answers 404" 404 \
	"$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$UC")"
disarm
arm "tls-alert"
curl -sS --cacert "$CA" -o /dev/null "$US" 2>/dev/null
expect_eq "no target: the next handshake, the Bootstrap Server's here, is aborted (exit 35)" 35 $?
stop_pid "$PID_v"

# ---- BIP: the gateway's hooks and the card's ------------------------------------

bip_fetch() { # NAME URL: scwsemu-fetch over BIP; "EXIT SECONDS"
	local t0 t1 rc
	t0=$(secs)
	timeout 60 "$F" --timeout 30 "$2" -o "$T_TMP/$1.wbxml" 2>"$T_TMP/$1.err"
	rc=$?
	t1=$(secs)
	echo "$rc $(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))" "$t0" "$t1")"
}

# The card ports in LISTEN, as scwsemu-ctl status shows them: "3516:LISTEN ...".
listening() {
	"$CTL" --control "$SOCK" status | python3 -c 'import json, sys
print(" ".join(sorted({"%s:%s" % (c["card_port"], c["state"]) for c in json.load(sys.stdin)["channels"] if c["state"] != "CLOSED"})))'
}

# A fixed host port for card port 4116: it must be the same after a card reset.
HP=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
daemon b --no-tcpip --port-map 4116=$HP --port-map 3516=0 --trace "$T_TMP/bip.pcap" || exit 1
B=https://127.0.0.1:$(ready_port "$READY_b" bip 127.0.0.1 4116)$BOOT
arm "bip-rate 2000 count=0"
r=$(bip_fetch b1 "$B")
expect_eq "bip-rate 2000: scwsemu-fetch over BIP gets the bootstrap" 0 "${r% *}"
check "... byte for byte" cmp -s "$T_TMP/b1.wbxml" "$T_TMP/expected.wbxml"
# TLS 1.3 handshake, the form POST and the answer: over 3 kB both ways,
# 1.5 s at least at 2,000 B/s (a loaded machine only adds to it).
within "... in about as long as its bytes take at 2,000 B/s" 1.5 25 "${r#* }"
disarm

arm "http-delay 1500"
r=$(bip_fetch bd1 "$B")
expect_eq "http-delay over BIP: the card's SCWS answers (the gateway polls with STATUS)" 0 "${r% *}"
within "... after about 1.5 s" 1.4 25 "${r#* }"
disarm

arm "bip-drop after=1"
r=$(bip_fetch x1 "$B")
expect_eq "bip-drop: scwsemu-fetch fails mid-transfer (exit 1)" 1 "${r% *}"
curl -sS --cacert "$CA" -o /dev/null "$B" 2>"$T_TMP/x2.err"
expect_eq "... the next client is served (count=1)" 0 $?
disarm

arm "apdu-sw B0 6F00"
r=$(get "$B" "$T_TMP/sw1")
expect_eq "apdu-sw B0 6F00: the SCWS's own PKCS#15 walk fails, curl sees 404" 404 "${r% *}"
expect_match "... the walk's failure is logged with the status word" 'bootstrap walk failed.*6F ?00' \
	"$(cat "$LOG_b")"
r=$(get "$B" "$T_TMP/sw2")
expect_eq "... once (count=1): the next fetch gets 200" 200 "${r% *}"

# OPEN CHANNEL happens at the start of a session: arm, then reset the card.
arm "bip-open-fail 3A10 port=4116 count=0"
"$CTL" --control "$SOCK" card reset >/dev/null || not_ok "scwsemu-ctl card reset"
chans=$("$CTL" --control "$SOCK" status | python3 -c 'import json, sys
print(" ".join(sorted({"%s:%s" % (c["card_port"], c["state"]) for c in json.load(sys.stdin)["channels"] if c["state"] != "CLOSED"})))')
expect_eq "bip-open-fail 3A10 port=4116: after a reset only card port 3516 listens" "3516:LISTEN" "$chans"
curl -sS --cacert "$CA" -o /dev/null --max-time 5 "$B" 2>/dev/null
expect_eq "... curl cannot connect to card port 4116 (exit 7)" 7 $?
disarm
"$CTL" --control "$SOCK" card reset >/dev/null
expect_eq "... cleared and reset: 4116 serves again" 200 \
	"$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' --max-time 10 "$B")"
stop_pid "$PID_b"
pcap=$(tshark -r "$T_TMP/bip.pcap" -V 2>/dev/null)
expect_match "tshark: the card got Channel status 41 05 (link dropped)" 'Channel status: 4105' "$pcap"
expect_match "tshark: OPEN CHANNEL answered 3A 10 (port not available)" \
	'Additional information: Port not available \(0x10\)' "$pcap"

# ---- BIP: a refused OPEN CHANNEL, and a card whose profile retries it ---------

# The default card with one channel per port (so that one refused OPEN
# CHANNEL closes 4116), without and with scws.open_retry (once more, 1 s
# after the refusal).
one_channel_card() { # DIR [open_retry line]
	mkdir -p "$1" && cp "$CARDS/default/"* "$1/"
	sed -i -e "s|\"\\.\\./\\.\\./pki/|\"$top_srcdir/pki/|" -e 's|channels = [0-9];|channels = 1;|' \
		-e "s|^scws = {|scws = {\n  $2|" "$1/card.conf"
}
one_channel_card "$T_TMP/no-retry-card" ""
one_channel_card "$T_TMP/retry-card" "open_retry = { count = 1; delay = 1000; };"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
SOCK=$T_TMP/n.sock
start_scwsemu n --card "$T_TMP/no-retry-card" --control "$SOCK" --no-tcpip \
	--port-map 4116="$(free_port)" --port-map 3516=0 || exit 1
BN=https://127.0.0.1:$(ready_port "$READY_n" bip 127.0.0.1 4116)$BOOT
arm "bip-open-fail 20 port=4116 count=1"
"$CTL" --control "$SOCK" card reset >/dev/null || not_ok "scwsemu-ctl card reset"
sleep 2
expect_eq "bip-open-fail 20 count=1, no open_retry in the profile: 4116 never opens" \
	"3516:LISTEN" "$(listening)"
curl -sS --cacert "$CA" -o /dev/null --max-time 5 "$BN" 2>/dev/null
expect_eq "... curl cannot connect to card port 4116 (exit 7)" 7 $?
expect_eq "... the fault fired once: id:fired:left" "1:1:0" \
	"$("$CTL" --control "$SOCK" fault list | python3 -c 'import json, sys
print(" ".join("%d:%d:%s" % (f["id"], f["fired"], f["left"]) for f in json.load(sys.stdin)["faults"]))')"
stop_pid "$PID_n"

SOCK=$T_TMP/r.sock
start_scwsemu r --card "$T_TMP/retry-card" --control "$SOCK" --no-tcpip \
	--port-map 4116="$(free_port)" --port-map 3516=0 --trace "$T_TMP/retry.pcap" || exit 1
BR=https://127.0.0.1:$(ready_port "$READY_r" bip 127.0.0.1 4116)$BOOT
arm "bip-open-fail 20 port=4116 count=1"
"$CTL" --control "$SOCK" card reset >/dev/null || not_ok "scwsemu-ctl card reset"
# The retry's timing from the daemon's log: from the refusal to the channel
# in LISTEN again (a status loop on a loaded machine is too coarse).
for _ in $(seq 300); do
	grep -q 'channel [0-9]: port 4116 LISTEN' <(sed -n '/retry 1 of 1/,$p' "$LOG_r") && break
	sleep 0.05
done
expect_eq "open_retry count=1: the card opens 4116 again at the gateway's poll" \
	"3516:LISTEN 4116:LISTEN" "$(listening)"
# The log stamps are cut to the millisecond and the refusal's line is written
# after the card asked for its POLL INTERVAL: a gap of 0.999 s is 1 s. A retry
# that came early (at the next STATUS, ~0 s) stays far below 0.95.
within "... 1 s after the refusal (the POLL INTERVAL it asked for), not before" 0.95 3 \
	"$(python3 - "$LOG_r" <<'PY'
import re, sys, datetime
t = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)Z .*(retry 1 of 1|channel \d: port 4116 LISTEN)", line)
    if m:
        k = "fail" if "retry" in m.group(2) else "open"
        if k == "fail" or "fail" in t:
            t[k] = datetime.datetime.fromisoformat(m.group(1))
print(round((t["open"] - t["fail"]).total_seconds(), 3))
PY
)"
expect_eq "... and curl fetches the bootstrap on card port 4116" 200 \
	"$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' --max-time 10 "$BR")"
stop_pid "$PID_r"
pcap=$(tshark -r "$T_TMP/retry.pcap" -V 2>/dev/null)
expect_match "tshark: the card asked for POLL INTERVAL" 'POLL INTERVAL|Poll Interval|POLL_INTERVAL' "$pcap"

finish
