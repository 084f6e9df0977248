#!/bin/bash
# make check (suite netns): a smoke run of `make bench` — the IKE responder, ESP and fallback
# rows with tiny loads (BENCH_SMOKE=1), into a temporary results directory.  Asserts that the
# run completes, that the JSON holds every row with either a figure or the reason it is
# missing, and that the machine is left as found (no namespace, process or nftables table of
# ours remains).  It never judges the figures: benchmarks report, they don't fail builds.
#   bench/smoke_test.sh BUILD
set -u
BUILD=$(readlink -f "${1:?usage: smoke_test.sh BUILD}")
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then echo "SKIP: needs root"; exit 77; fi
for t in ip nft iperf3 python3; do command -v $t >/dev/null || { echo "SKIP: $t missing"; exit 77; }; done
RES=$(mktemp -d /tmp/ssb-smoke.XXXXXX)
trap 'rm -rf "$RES"' EXIT
# Our own prefix, so that another bench run on the machine does not confuse the checks.
PFX=ssb-smoke$$
before_nft=$(nft list tables 2>/dev/null | sort)
BENCH_NS_PREFIX=$PFX BENCH_SMOKE=1 BENCH_RESULTS=$RES "$HERE/run.sh" "$BUILD" --quick --only esp,ike,fallback >"$RES/table.md" 2>"$RES/err.log"
rc=$?
[ $rc = 0 ] || { cat "$RES/err.log"; echo "FAIL: run.sh exited $rc"; exit 1; }
cat "$RES/table.md"
python3 - "$RES/latest-quick.json" <<'PY' || exit 1
import json, sys
d = json.load(open(sys.argv[1]))
want = [r for r in d["rows"] if r["id"].split(".")[0] in ("fb", "ike", "esp") and r["id"] != "esp.gcm_floor"
        and not r["id"].startswith(("esp.micro", "ike.inproc"))]
assert len(want) >= 16, "rows missing: %d" % len(want)
for r in want:
    ok = r["softsa"] is not None or r["softsa_note"]
    assert ok, "row %s has neither a figure nor a reason" % r["id"]
    if r["softsa"]:
        s = r["softsa"]
        assert s["min"] <= s["median"] <= s["max"], r["id"]
# strongSwan is measured whenever it is installed
import os
if os.access("/usr/lib/ipsec/charon", os.X_OK):
    a = next(r for r in d["rows"] if r["id"] == "ike.ecp256.rate")["anchor"]
    assert a and a.get("median"), "charon's IKE rate not measured: %s" % a
    e = next(r for r in d["rows"] if r["id"] == "esp.tcp1")["floor"]
    assert e and e.get("median"), "clear veth not measured"
assert "| section |" in d["markdown"]
print("json ok: %d rows" % len(d["rows"]))
PY
left=$(ip netns list | awk '{ print $1 }' | grep "^$PFX-")
[ -z "$left" ] || { echo "FAIL: namespaces left: $left"; exit 1; }
[ "$before_nft" = "$(nft list tables 2>/dev/null | sort)" ] || { echo "FAIL: nftables tables changed in the root namespace"; exit 1; }
if pgrep -f "/tmp/$PFX-bench\." >/dev/null; then echo "FAIL: processes left: $(pgrep -af "/tmp/$PFX-bench\.")"; exit 1; fi
echo PASS
