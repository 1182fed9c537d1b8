#!/bin/bash
# verdicts.sh - the client under test, judged: scwsemu --until-fetched with
# --report (JUnit), --report-json and --journal against real clients
# (scwsemu-fetch, its misbehaviour switches, curl). A correct client exits 0
# with no <failure>; each misbehaviour fails its rule and exits 3; no client
# is 4; the fallback story (Bootstrap Server 404 -> the SCWS over BIP)
# passes and its reverse fails fallback-order; the journal never holds the
# passphrase or the PSK.
. "$(dirname "$0")/lib.sh"
need python3 curl

F=$SCWSEMU_FETCH
PASS=s3cret-9 # 8 bytes: its base64 ends in '='
PASS64=$(printf %s "$PASS" | base64)
PSK_ID=scwsemu
PSK_KEY=00112233445566778899AABBCCDDEEFF
GOOD=IMEI:493005100592800

# judge NAME SECONDS [scwsemu args...]: starts scwsemu with the verdict
# options on ephemeral ports; $BP (BIP https), $HP (BIP http), $TP (TCP/IP)
# and $SP (Bootstrap Server, when asked) are set.
judge() {
	local name=$1 secs=$2
	shift 2
	start_scwsemu "$name" --port-map 4116=0 --port-map 3516=0 --tcpip 127.0.0.1:0 \
		--until-fetched "$secs" --report "$T_TMP/$name.xml" \
		--report-json "$T_TMP/$name.json" --journal "$T_TMP/$name.jsonl" "$@" || exit 1
	local r
	eval "r=\$READY_$name"
	# (gone already when scwsemu stopped on its own: no ports)
	read -r BP HP TP SP < <(python3 - "$r" 2>/dev/null <<'PY'
import json, sys
eps = json.load(open(sys.argv[1]))["endpoints"]
def port(t, card=None):
    for e in eps:
        if e["transport"] == t and e["host"] == "127.0.0.1" and card in (None, e["card_port"]):
            return str(e["port"])
    return "-"
print(port("bip", 4116), port("bip", 3516), port("tcpip"), port("server"))
PY
)
}

# verdict NAME [now]: waits for scwsemu to exit on its own (with "now":
# stops it first, SIGTERM; the status is still the verdict's); $rc.
verdict() {
	local pid
	eval "pid=\$PID_$1"
	[ "${2:-}" = now ] && kill -TERM "$pid"
	wait "$pid"
	rc=$?
	T_PIDS=$(echo "$T_PIDS" | sed "s/ $pid\b//")
}

# rules NAME RESULT: the ids of the rules with that result, over every client.
rules() {
	python3 - "$T_TMP/$1.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(sorted({x["id"] for c in r["clients"] for x in c["rules"] if x["result"] == sys.argv[2]})))
PY
}

# junit NAME: "suites cases failures" read from the JUnit file with an XML parser.
junit() {
	python3 - "$T_TMP/$1.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites"
suites = root.findall("testsuite")
cases = [c for s in suites for c in s.findall("testcase")]
fails = [c for c in cases if c.find("failure") is not None]
print(len(suites), len(cases), len(fails))
PY
}

U() { echo "https://127.0.0.1:$BP$BOOT"; }

# ports ARGS...: the arguments with @BP@ and @TP@ replaced by this run's ports
# (in ARGV).
ports() {
	ARGV=()
	for a in "$@"; do
		a=${a//@BP@/$BP}
		ARGV+=("${a//@TP@/$TP}")
	done
}

# ---- a correct client: exit 0, no failure
judge ok 60 --card "$CARDS/default"
"$F" "$(U)" --username bob --passphrase "$PASS" --push-address http://192.0.2.1/push \
	>/dev/null 2>"$T_TMP/ok.err"
expect_eq "scwsemu-fetch gets the bootstrap over BIP" 0 "$?"
verdict ok
expect_eq "a correct client: --until-fetched exits 0 once it has the bootstrap" 0 "$rc"
expect_eq "... JUnit: 1 suite, 17 cases, no failure" "1 17 0" "$(junit ok)"
expect_eq "... nothing fails" "" "$(rules ok fail)"
expect_eq "... nothing warns" "" "$(rules ok warn)"
expect_match "... the summary on stderr" 'scwsemu verdict: pass, 1 client \(exit 0\)' \
	"$(cat "$LOG_ok")"
J=$(cat "$T_TMP/ok.jsonl")
expect_match "... the journal has the request with its fields and sizes" \
	'"method":"POST".*"fields":\[\{"name":"devid","size":20\}.*"devid":"IMEI:493005100592800","username":"bob","push_address":"http://192.0.2.1/push","passphrase":\{"size":12,"base64":"ok"\},"status":200' \
	"$J"
expect_match "... and the connection with its TLS facts" \
	'"kind":"connection".*"transport":"bip".*"tls":\{"version":"TLSv1.[23]".*"handshake":"completed"' "$J"
check "... the journal file is private (0600)" \
	test "$(stat -c %a "$T_TMP/ok.jsonl")" = 600
check "... no passphrase in the journal (plain)" sh -c "! grep -q -- '$PASS' '$T_TMP/ok.jsonl'"
check "... no passphrase in the journal (base64)" sh -c "! grep -q -- '$PASS64' '$T_TMP/ok.jsonl'"
check "... nor in the reports" sh -c "! grep -q -e '$PASS' -e '$PASS64' '$T_TMP/ok.xml' '$T_TMP/ok.json'"

# ---- PSK over TCP/IP as localuicc: the PSK identity is journaled, never the key
judge psk 60 --card "$CARDS/default"
"$F" "https://localuicc:$TP$BOOT" --resolve "localuicc:$TP:127.0.0.1" \
	--psk "$PSK_ID:$PSK_KEY" >/dev/null 2>&1
expect_eq "PSK client as localuicc gets the bootstrap" 0 "$?"
verdict psk
expect_eq "... exit 0" 0 "$rc"
expect_match "... tls-sni passes" 'tls-sni' "$(rules psk pass)"
expect_match "... the journal names the PSK identity" '"psk_identity":"scwsemu"' \
	"$(cat "$T_TMP/psk.jsonl")"
check "... never the PSK" sh -c "! grep -qi -- '$PSK_KEY' '$T_TMP/psk.jsonl' '$T_TMP/psk.json' '$T_TMP/psk.xml'"

# ---- misbehaving on purpose: exit 3 and the right rule fails
# bad NAME RULE CARD CLIENT-ARGS...: scwsemu-fetch with those switches.
bad() {
	local name=$1 rule=$2 card=$3
	shift 3
	judge "$name" 60 --card "$CARDS/$card"
	ports "$@"
	"$F" "${ARGV[@]}" >/dev/null 2>&1
	verdict "$name" now
	expect_eq "$name: exit 3" 3 "$rc"
	expect_match "$name: $rule fails" "(^| )$rule( |$)" "$(rules "$name" fail)"
}

bad nodevid devid-present default "https://127.0.0.1:@BP@$BOOT" --no-devid
bad unpadded passphrase-base64 default "https://127.0.0.1:@BP@$BOOT" --username bob --passphrase "$PASS" \
	--unpadded-passphrase
bad useronly passphrase-with-username default "https://127.0.0.1:@BP@$BOOT" --username bob
judge plain 60 --card "$CARDS/default"
"$F" "$(U)" --plain >/dev/null 2>&1
"$F" "http://127.0.0.1:$HP$BOOT" >/dev/null 2>&1
verdict plain now
expect_eq "plain: exit 3" 3 "$rc"
expect_match "plain: https fails" "(^| )https( |$)" "$(rules plain fail)"
expect_match "... for plain HTTP to the TLS port and to the HTTP port" \
	'plain HTTP sent to a TLS port|plain HTTP \(answered 403\)' \
	"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["clients"][0]["rules"][2]["reason"])' "$T_TMP/plain.json")"

# GET is the pre-CR form: a warning, not a failure.
judge get 60 --card "$CARDS/default"
"$F" "$(U)" --get >/dev/null 2>&1
verdict get
expect_eq "--get: exit 0 (a warning only)" 0 "$rc"
expect_eq "... http-method warns" "http-method" "$(rules get warn)"

# A loop: fetching again after a 200 warns; retrying a 404 fast, too often, fails
# to get it.
judge loop 60 --card "$CARDS/default"
"$F" "$(U)" --loop 2 >/dev/null 2>&1
verdict loop
expect_eq "--loop 2 after a 200: exit 0" 0 "$rc"
expect_eq "... no-refetch warns" "no-refetch" "$(rules loop warn)"
bad loop404 bootstrap-received empty "https://127.0.0.1:@BP@$BOOT" --loop 5
expect_match "loop404: retry-after warns" "retry-after" "$(rules loop404 warn)"

# ---- curl
# badcurl NAME RULE CURL-ARGS...
badcurl() {
	local name=$1 rule=$2
	shift 2
	judge "$name" 60 --card "$CARDS/default"
	ports "$@"
	curl -s -o /dev/null --cacert "$CA" "${ARGV[@]}"
	verdict "$name" now
	expect_eq "$name (curl): exit 3" 3 "$rc"
	expect_match "$name (curl): $rule fails" "(^| )$rule( |$)" "$(rules "$name" fail)"
}
badcurl curlurn devid-urn -F devid=IMEI:493005100592801 "https://127.0.0.1:@BP@$BOOT"
badcurl curlform form-multipart --data-urlencode devid=$GOOD "https://127.0.0.1:@BP@$BOOT"
badcurl curltype form-part-type -F "devid=$GOOD;type=application/json" "https://127.0.0.1:@BP@$BOOT"
badcurl curlpath http-path -F devid=$GOOD "https://127.0.0.1:@BP@/OMA/DM/bootstrap.xml"
badcurl curlsni tls-sni -k -F devid=$GOOD --resolve "sim.example:@TP@:127.0.0.1" \
	"https://sim.example:@TP@$BOOT"
judge curlok 60 --card "$CARDS/default"
curl -s -o /dev/null --cacert "$CA" -F devid=$GOOD "$(U)"
verdict curlok
expect_eq "curl -F devid=...: exit 0" 0 "$rc"

# ---- nobody comes: 4
judge none 1 --card "$CARDS/default"
verdict none
expect_eq "no client: exit 4" 4 "$rc"
expect_eq "... JUnit with no suite" "0 0 0" "$(junit none)"
expect_match "... said on stderr" 'no client came \(exit 4\)' "$(cat "$LOG_none")"

# ---- the fallback story
# The Bootstrap Server has nothing (an empty document): the client asks it,
# gets 404, and goes to the SCWS at 127.0.0.1:4116.
: >"$T_TMP/empty.doc"
judge fb 60 --card "$CARDS/default" --bootstrap-server 127.0.0.1:0 \
	--bootstrap-server-doc "$T_TMP/empty.doc"
expect_match "the ready file lists the Bootstrap Server" \
	"\"transport\": \"server\".*\"url\": \"https://127.0.0.1:$SP/bootstrap\"" \
	"$(cat "$READY_fb")"
"$F" "https://127.0.0.1:$SP/bootstrap" >/dev/null 2>&1
expect_eq "... which answers 404 (scwsemu-fetch exit 3)" 3 "$?"
"$F" "$(U)" >/dev/null 2>&1
expect_eq "... then the SCWS serves it" 0 "$?"
verdict fb
expect_eq "fallback after a 404: exit 0" 0 "$rc"
expect_match "... fallback-order passes" "fallback-order" "$(rules fb pass)"
expect_match "... the order is in the reason" 'server 127.0.0.1:[0-9]+ -> 404, bip 127.0.0.1:[0-9]+ -> 200' \
	"$(cat "$T_TMP/fb.json")"

# The reverse: the server has it, the client goes to the card first.
judge rev 60 --card "$CARDS/default" --bootstrap-server "127.0.0.1:0/dm/boot"
"$F" "$(U)" >/dev/null 2>&1
verdict rev now
expect_eq "straight to the SCWS while the server had it: exit 3" 3 "$rc"
expect_eq "... fallback-order fails" "fallback-order" "$(rules rev fail)"

# The server itself serves the card's bootstrap with its own certificate.
judge srv 60 --card "$CARDS/default" --bootstrap-server "127.0.0.1:0/dm/boot"
"$SCWSEMU_CARD" bootstrap "$CARDS/default" >"$T_TMP/expected.wbxml"
"$F" "https://127.0.0.1:$SP/dm/boot" -o "$T_TMP/srv.wbxml" 2>/dev/null
expect_eq "the Bootstrap Server serves at its path" 0 "$?"
check "... the card's bootstrap" cmp -s "$T_TMP/srv.wbxml" "$T_TMP/expected.wbxml"
verdict srv
expect_eq "... exit 0" 0 "$rc"
expect_match "... under its own certificate" 'CN=bootsrv.test' "$(cat "$T_TMP/srv.jsonl")"
check "the certificate names bootsrv.test" sh -c \
	"openssl x509 -in '$top_srcdir/pki/bootsrv.crt' -noout -ext subjectAltName | grep -q 'DNS:bootsrv.test, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1'"

# Bad usage is refused at start.
"$SCWSEMU" --bootstrap-server-doc /dev/null >/dev/null 2>"$T_TMP/u1.err"
expect_eq "--bootstrap-server-doc alone: exit 2" 2 "$?"
"$SCWSEMU" --bootstrap-server 127.0.0.1 >/dev/null 2>"$T_TMP/u2.err"
expect_eq "--bootstrap-server without a port: exit 2" 2 "$?"
expect_match "... saying what is expected" 'ADDR:PORT\[/PATH\]' "$(cat "$T_TMP/u2.err")"
printf 'not a bootstrap' >"$T_TMP/bad.doc"
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 --bootstrap-server 127.0.0.1:0 \
	--bootstrap-server-doc "$T_TMP/bad.doc" >/dev/null 2>"$T_TMP/u3.err"
expect_eq "a --bootstrap-server-doc that is no bootstrap: exit 2" 2 "$?"
expect_match "... naming the file" "bad.doc: not a DM bootstrap" "$(cat "$T_TMP/u3.err")"

# ---- the control socket: bootstrap off target=server, requests, report
SCWSEMU_CTL=$top_builddir/src/scwsemu-ctl
judge ctl 60 --card "$CARDS/default" --bootstrap-server 127.0.0.1:0 --control "$T_TMP/ctl.sock"
C() { "$SCWSEMU_CTL" --control "$T_TMP/ctl.sock" "$@"; }
expect_match "bootstrap off target=server" '"bootstrap": ?"off", ?"target": ?"server"' \
	"$(C bootstrap off target=server)"
"$F" "https://127.0.0.1:$SP/bootstrap" --username bob --passphrase "$PASS" >/dev/null 2>&1
expect_eq "... the server answers 404 (scwsemu-fetch exit 3)" 3 "$?"
R=$(C requests)
expect_match "requests: the journal over the socket" \
	'"entries": ?\[\{"seq": ?1, ?"kind": ?"request".*"transport": ?"server".*"status": ?404' "$R"
check "... never the passphrase" sh -c "! printf '%s' '$R' | grep -q -e '$PASS' -e '$PASS64'"
N=$(printf '%s' "$R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
expect_match "report before the fallback: the client failed so far" \
	'"result": ?"fail"' "$(C report)"
"$F" "$(U)" --username bob --passphrase "$PASS" >/dev/null 2>&1
expect_eq "... the card serves it" 0 "$?"
R2=$(C requests --since $((N - 1)))
expect_match "requests --since: only what is new" '"entries": ?\[\{"seq": ?'"$N"',' "$R2"
check "... from the card" sh -c "printf '%s' '$R2' | grep -Eq '\"transport\": ?\"bip\"'"
verdict ctl
expect_eq "fallback through the control socket: exit 0" 0 "$rc"
expect_match "... fallback-order passes" "fallback-order" "$(rules ctl pass)"
check "... the journal file holds no passphrase" sh -c \
	"! grep -q -e '$PASS' -e '$PASS64' '$T_TMP/ctl.jsonl'"


# ---- faults as the client met them: tls-cert-check and retry-after -----------
# The journal carries the fault that acted on each connection and answer, and
# the Retry-After an answer sent.

# ruled NAME RULE: "RESULT: REASON" of that rule (the first client that has it
# judged other than n/a).
ruled() {
	python3 - "$T_TMP/$1.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["clients"]:
    for x in c["rules"]:
        if x["id"] == sys.argv[2] and x["result"] != "n/a":
            print("%s: %s" % (x["result"], x["reason"]))
            sys.exit(0)
PY
}
# junit_failure NAME RULE: the failure message of that testcase in the JUnit file.
junit_failure() {
	python3 - "$T_TMP/$1.xml" "$2" <<'PY'
import sys, xml.etree.ElementTree as ET
for s in ET.parse(sys.argv[1]).getroot().findall("testsuite"):
    for c in s.findall("testcase"):
        f = c.find("failure")
        if c.get("name", "").startswith(sys.argv[2]) and f is not None:
            print(f.get("message", "") or (f.text or ""))
PY
}

# A client that does not check certificates (scwsemu-fetch --insecure) takes
# the untrusted certificate and sends its request.
judge insecure 60 --card "$CARDS/default" --control "$T_TMP/insecure.sock"
"$SCWSEMU_CTL" --control "$T_TMP/insecure.sock" fault add tls-cert untrusted >/dev/null ||
	not_ok "fault add tls-cert untrusted"
"$F" "$(U)" --insecure >/dev/null 2>&1
expect_eq "tls-cert untrusted: scwsemu-fetch --insecure takes it and fetches" 0 "$?"
verdict insecure
expect_eq "... --until-fetched: exit 3" 3 "$rc"
expect_match "... tls-cert-check fails" "tls-cert-check" "$(rules insecure fail)"
expect_match "... quoting the fault" '^fail: .*bad certificate \(tls-cert untrusted\)' \
	"$(ruled insecure tls-cert-check)"
expect_match "... the JUnit report has that failure" 'tls-cert untrusted' \
	"$(junit_failure insecure tls-cert-check)"
expect_match "... the journal names the fault on the request" \
	'"kind": ?"request".*"fault": ?"tls-cert untrusted"' "$(cat "$T_TMP/insecure.jsonl")"

# A client that checks certificates aborts that handshake, then fetches.
judge checked 60 --card "$CARDS/default" --control "$T_TMP/checked.sock"
"$SCWSEMU_CTL" --control "$T_TMP/checked.sock" fault add tls-cert untrusted >/dev/null ||
	not_ok "fault add tls-cert untrusted"
"$F" "$(U)" >/dev/null 2>"$T_TMP/checked.err"
expect_eq "tls-cert untrusted: scwsemu-fetch (certificate check on) refuses it (exit 1)" 1 "$?"
"$F" "$(U)" >/dev/null 2>&1
expect_eq "... and fetches once the fault is spent" 0 "$?"
verdict checked
expect_match "... tls-cert-check passes" '^pass: .*aborted the handshake after a bad certificate \(tls-cert untrusted\)' \
	"$(ruled checked tls-cert-check)"
check "... and fails for no client" eval '! grep -qw tls-cert-check <<<"$(rules checked fail)"'
expect_eq "... JUnit: no tls-cert-check failure" "" "$(junit_failure checked tls-cert-check)"

# http-status 503 carries Retry-After: 2; a client that retries 0.2 s later
# retries too early (warn, the figure quoted); 2.5 s later is fine.
judge early 60 --card "$CARDS/default" --control "$T_TMP/early.sock"
"$SCWSEMU_CTL" --control "$T_TMP/early.sock" fault add http-status 503 >/dev/null ||
	not_ok "fault add http-status 503"
"$F" "$(U)" --loop 2 --loop-interval 200 >/dev/null 2>&1
verdict early
expect_eq "http-status 503 then a retry 0.2 s later: exit 0 (a warning)" 0 "$rc"
expect_match "... retry-after warns, quoting the gap and Retry-After" \
	'^warn: .* came 0\.[0-9] s after a 503 with Retry-After: 2' "$(ruled early retry-after)"
expect_match "... the journal has the 503 with its Retry-After and fault" \
	'"status": ?503.*"retry_after": ?2|"retry_after": ?2.*"status": ?503' \
	"$(grep '"status": \?503' "$T_TMP/early.jsonl")"
expect_match "... and the fault" '"fault": ?"http-status 503"' "$(grep '"status": \?503' "$T_TMP/early.jsonl")"
judge patient 60 --card "$CARDS/default" --control "$T_TMP/patient.sock"
"$SCWSEMU_CTL" --control "$T_TMP/patient.sock" fault add http-status 503 >/dev/null ||
	not_ok "fault add http-status 503"
"$F" "$(U)" --loop 2 --loop-interval 2500 >/dev/null 2>&1
verdict patient
expect_match "a retry 2.5 s after the 503: retry-after passes" '^pass: 1 retries after 503' \
	"$(ruled patient retry-after)"

finish
