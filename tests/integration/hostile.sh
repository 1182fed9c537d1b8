#!/bin/bash
# hostile.sh - scwsemu under hostile conditions, end to end: a link planted
# at the trace path, slow clients over TCP/IP and BIP (slowloris), the
# client limits, credential guessing, and many clients at once.
. "$(dirname "$0")/lib.sh"
need curl python3

# --- Files: a symbolic link planted at the trace path -----------------------
echo precious >"$T_TMP/victim"
ln -s "$T_TMP/victim" "$T_TMP/trace.pcap"
"$SCWSEMU" --card "$CARDS/default" --no-bip --tcpip 127.0.0.1:0 \
	--trace "$T_TMP/trace.pcap" 2>"$T_TMP/link.err"
expect_eq "--trace through a symbolic link exits 1" 1 $?
expect_match "... naming the path and the link" \
	"--trace $T_TMP/trace.pcap: is a symbolic link" "$(cat "$T_TMP/link.err")"
expect_eq "... and the link's target is untouched" precious "$(cat "$T_TMP/victim")"
rm -f "$T_TMP/trace.pcap"
(umask 0; start_scwsemu tr --card "$CARDS/default" --no-tcpip --port-map 4116=0 \
	--trace "$T_TMP/trace.pcap" && stop_pid "$PID_tr")
expect_eq "a new trace file is 0600 whatever the umask" 600 "$(stat -c %a "$T_TMP/trace.pcap")"

finish
