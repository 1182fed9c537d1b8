#!/bin/sh
# fixture.sh - scwsemu as a test fixture in a shell script: start it on
# ephemeral ports, wait for the ready file, take the URLs and the CA from it,
# fetch the bootstrap as a DM client would, stop it.
#
#   sh examples/fixture.sh             # the installed scwsemu (the .deb)
#   SCWSEMU=build/src/scwsemu sh examples/fixture.sh
set -eu
SCWSEMU=${SCWSEMU:-scwsemu}
dir=$(mktemp -d "${TMPDIR:-/tmp}/scwsemu-fixture.XXXXXX")
pid=
stop() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	rm -rf "$dir"
}
trap stop EXIT

# Ephemeral ports: any number of fixtures can run side by side.
"$SCWSEMU" --port-map 4116=0 --port-map 3516=0 --tcpip 127.0.0.1:0 \
	--ready-file "$dir/ready.json" 2>"$dir/scwsemu.log" &
pid=$!
# The ready file appears once every endpoint listens; an exit before that
# is a start-up error (its one line is in the log).
i=0
while [ ! -s "$dir/ready.json" ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$dir/scwsemu.log" >&2
		pid=
		exit 1
	fi
	i=$((i + 1))
	[ "$i" -lt 200 ] || { echo "scwsemu not ready after 10 s" >&2; exit 1; }
	sleep 0.05
done

# ready FIELD: the CA, or the URL of one endpoint (transport scheme host).
ready() {
	python3 - "$dir/ready.json" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if sys.argv[2] == "ca":
    print(d["ca"])
else:
    t, scheme, host = sys.argv[2:5]
    print(next(e["url"] for e in d["endpoints"]
               if e["transport"] == t and e["scheme"] == scheme and e["host"] == host))
PY
}
ca=$(ready ca)
for url in "$(ready bip https 127.0.0.1)" "$(ready tcpip https 127.0.0.1)"; do
	curl -sS --fail --cacert "$ca" -F devid=IMEI:493005100592800 "$url" -o "$dir/bootstrap.wbxml"
	echo "fetched $(wc -c <"$dir/bootstrap.wbxml") bytes from $url"
done
