#!/bin/bash
# trace_fetch.sh - the trace of a real in-process BIP fetch (--trace), read
# back with tshark: OPEN CHANNEL for port 4116, RECEIVE DATA and SEND DATA,
# Data available events; and the same datagrams live with --gsmtap.
. "$(dirname "$0")/lib.sh"
need curl tshark python3

"$SCWSEMU" --no-tcpip --no-bip --gsmtap 127.0.0.1:0 2>"$T_TMP/g.err"
expect_eq "--gsmtap with port 0 exits 2" 2 $?
expect_match "... saying why" 'gsmtap 127\.0\.0\.1:0: .*port must be 1-65535' "$(cat "$T_TMP/g.err")"
# A live GSMTAP receiver on an ephemeral UDP port.
# Counts GSMTAP SIM datagrams until the daemon has stopped (udp.stop
# appears), then drains what is still queued: no silence-based timeout,
# which a loaded machine outlasts between start-up and the fetch.
python3 - "$T_TMP/udp.port" "$T_TMP/udp.count" "$T_TMP/udp.stop" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(0.1)
n = 0
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    try:
        d = s.recv(65535)
    except socket.timeout:
        if os.path.exists(sys.argv[3]):
            break
        continue
    if d[0] == 2 and d[2] == 4:  # GSMTAP v2, type SIM
        n += 1
open(sys.argv[2], "w").write(str(n))
PY
udp_pid=$!
for i in $(seq 100); do [ -s "$T_TMP/udp.port" ] && break; sleep 0.05; done
UDP=$(cat "$T_TMP/udp.port")
start_scwsemu tr --no-tcpip --port-map 4116=0 --port-map 3516=0 --trace "$T_TMP/t.pcap" \
	--gsmtap "127.0.0.1:$UDP" || exit 1
P=$(ready_port "$READY_tr" bip 127.0.0.1 4116)
st=$(curl -sS --cacert "$CA" -F devid=IMEI:1 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$P$BOOT")
expect_eq "fetch over BIP while tracing" 200 "$st"
sleep 0.2
# The pcap is flushed per record: readable while the daemon still runs.
n_live=$(tshark -r "$T_TMP/t.pcap" 2>/dev/null | wc -l)
stop_pid "$PID_tr"
: >"$T_TMP/udp.stop"
n=$(tshark -r "$T_TMP/t.pcap" 2>/dev/null | wc -l)
expect_eq "the pcap was complete before the daemon stopped (flushed per record)" "$n" "$n_live"
ports=$(tshark -r "$T_TMP/t.pcap" -Y 'etsi_cat.comp_tlv.cmd_type == 0x40 && gsm_sim.apdu.ins == 0x12' \
	-T fields -e etsi_cat.comp_tlv.transport.port 2>/dev/null | sort -u | tr '\n' ' ')
expect_match "tshark: OPEN CHANNEL for port 4116 (and 3516)" '^3516 4116 $' "$ports"
rd=$(tshark -r "$T_TMP/t.pcap" -Y 'etsi_cat.comp_tlv.cmd_type == 0x42' 2>/dev/null | wc -l)
sd=$(tshark -r "$T_TMP/t.pcap" -Y 'etsi_cat.comp_tlv.cmd_type == 0x43' 2>/dev/null | wc -l)
da=$(tshark -r "$T_TMP/t.pcap" -Y 'etsi_cat.comp_tlv.event == 0x09' 2>/dev/null | wc -l)
expect_eq "tshark: RECEIVE DATA commands" 1 $((rd > 0))
expect_eq "tshark: SEND DATA commands" 1 $((sd > 0))
expect_eq "tshark: Data available events" 1 $((da > 0))
proto=$(tshark -r "$T_TMP/t.pcap" -T fields -e frame.protocols 2>/dev/null | sort -u | tr '\n' ' ')
expect_match "decoded down to etsi_cat" 'ip:udp:gsmtap:gsm_sim:etsi_cat' "$proto"
wait "$udp_pid"
expect_eq "--gsmtap sent the same exchanges live" "$n" "$(cat "$T_TMP/udp.count")"
finish
