#!/bin/sh
# coverage_table.sh INFO SRCDIR - line coverage per directory of src/ from
# an lcov tracefile (make coverage): one row per directory, then the total.
exec python3 - "$@" <<'PY'
import os
import sys

info, top = sys.argv[1], os.path.realpath(sys.argv[2])
per = {}
src = None
with open(info) as f:
    for line in f:
        if line.startswith("SF:"):
            path = os.path.realpath(line[3:].strip())
            rel = os.path.relpath(path, top)
            parts = rel.split(os.sep)
            src = "/".join(parts[:2]) + "/" if len(parts) > 2 else rel
            per.setdefault(src, [0, 0])
        elif line.startswith("DA:") and src:
            hits = int(line[3:].split(",")[1])
            per[src][0] += 1
            per[src][1] += hits > 0
total = [sum(v[0] for v in per.values()), sum(v[1] for v in per.values())]
print("%-18s %8s %8s %7s" % ("directory", "lines", "hit", "cover"))
for d in sorted(per):
    n, h = per[d]
    print("%-18s %8d %8d %6.1f%%" % (d, n, h, 100.0 * h / n if n else 0))
print("%-18s %8d %8d %6.1f%%" % ("total", total[0], total[1],
                                  100.0 * total[1] / total[0] if total[0] else 0))
PY
