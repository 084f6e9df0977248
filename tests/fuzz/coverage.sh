#!/bin/sh
# `make fuzz-coverage`: clang's source-based coverage (llvm-cov) of what the seed corpora
# reach.  Builds the corpus replays with -fprofile-instr-generate -fcoverage-mapping in
# BUILD (default build-cov), replays every target's corpus, and prints per target the line,
# function and branch coverage of the files that target is about; the per-file reports and
# an annotated listing of what is not covered go to BUILD/coverage/.
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-build-cov}
OUT="$BUILD/coverage"
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" "$SRC" -Dbuildtype=debug \
		-Dc_args="-fprofile-instr-generate -fcoverage-mapping" \
		-Dc_link_args="-fprofile-instr-generate" >/dev/null
fi

# target | corpus directories | the sources it is about (regular expression on paths)
TARGETS="
policy_load|tests/fuzz/corpus/policy examples|src/policy/load
ike_codec|tests/fuzz/corpus/ike|src/ike/codec_
ike_responder|tests/fuzz/corpus/ike|src/ike/(ike_|codec_|crypto_)
ike_sk|tests/fuzz/corpus/ike_sk|src/ike/(ike_|codec_|crypto_)
esp_decap|tests/fuzz/corpus/fuzz_esp_decap|src/esp/
agent_statefile|tests/fuzz/corpus/statefile|src/agent/statefile
dp_pkt|tests/fuzz/corpus/dp_pkt|src/dataplane/pkt
dp_tso|tests/fuzz/corpus/dp_tso|src/dataplane/gso
dp_gro|tests/fuzz/corpus/dp_gro|src/dataplane/gro
dp_nflog|tests/fuzz/corpus/dp_nflog|src/dataplane/user/nflog
ctl_request|tests/fuzz/corpus/ctl_request|src/daemon/(control|ctlargs)
ctl_reply|tests/fuzz/corpus/ctl_reply|src/(cli/|daemon/ctlclient)
ike_cert|tests/fuzz/corpus/ike_cert|src/ike/cert_
xfrm_msg|tests/fuzz/corpus/xfrm_msg|src/dataplane/xfrm/parse
dir_entry|tests/fuzz/corpus/dir_entry|src/directory/(dn|entry)
dir_files|tests/fuzz/corpus/dir_files|src/directory/(config|cache)
dp_icmperr|tests/fuzz/corpus/dp_icmperr|src/dataplane/icmperr
dp_softlist|tests/fuzz/corpus/dp_softlist|src/dataplane/user/softlist
"

# COV_TARGETS: only these (names separated by spaces or commas), as FUZZ_TARGETS for make fuzz.
WANT=$(echo "${COV_TARGETS:-}" | tr ',' ' ')
mkdir -p "$OUT"
printf '%-16s %14s %14s %16s  %s\n' target lines functions branches files
echo "$TARGETS" | while IFS='|' read -r name corpora files; do
	[ -n "$name" ] || continue
	if [ -n "$WANT" ] && ! echo " $WANT " | grep -q " $name "; then
		continue
	fi
	exe="$BUILD/tests/fuzz/replay_$name"
	ninja -C "$BUILD" "tests/fuzz/replay_$name" >/dev/null
	dirs=""
	for d in $corpora; do dirs="$dirs $SRC/$d"; done
	rm -f "$OUT/$name".profraw
	# shellcheck disable=SC2086
	LLVM_PROFILE_FILE="$OUT/$name.profraw" "$exe" $dirs >/dev/null 2>&1
	llvm-profdata merge -sparse "$OUT/$name.profraw" -o "$OUT/$name.profdata"
	llvm-cov report "$exe" -instr-profile="$OUT/$name.profdata" > "$OUT/$name.all.txt" 2>/dev/null
	# The files the target is about (llvm-cov's own source filter does not match the
	# relative paths meson records), summed: lines, functions, branches covered/total.
	grep -E "^($files)[^ ]*\.c " "$OUT/$name.all.txt" > "$OUT/$name.txt" || true
	# The annotated listing of those files only (sections start with "/path/file.c:").
	llvm-cov show "$exe" -instr-profile="$OUT/$name.profdata" -show-branches=count 2>/dev/null |
		awk -v re="$files" '/^\/.*:$/ { on = ($0 ~ re) } on' > "$OUT/$name.show.txt"
	awk -v n="$name" -v f="$files" '
		{ fl += $5; fm += $6; ll += $8; lm += $9; bl += $11; bm += $12 }
		function pct(t, m) { return t ? sprintf("%.1f%%", 100 * (t - m) / t) : "-" }
		END { printf "%-16s %14s %14s %16s  %s\n", n,
			pct(ll, lm) " of " ll, pct(fl, fm) " of " fl, pct(bl, bm) " of " bl, f }' "$OUT/$name.txt"
done
echo "(per-file reports: $OUT/TARGET.txt; annotated sources: $OUT/TARGET.show.txt)"
