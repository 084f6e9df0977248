#!/bin/sh
# `make fuzz`: runs every libFuzzer target for a set time, one after the other, merges what
# adds coverage (minimized, -merge=1) into the first seed corpus directory, and prints a table.
# Called by `ninja fuzz` (tests/fuzz/meson.build) with, per target, a spec
# NAME|DICT|CORPUS:CORPUS.. and the executable.
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 180)
#   FUZZ_RUNS     stop a target after this many executions as well (default: no limit)
#   FUZZ_SEED     libFuzzer's -seed, for comparable runs (default: a random one, shown)
#   FUZZ_TARGETS  only these targets (names separated by spaces or commas)
#   FUZZ_NICE     niceness of the fuzzers (default 10)
#   FUZZ_MERGE    0: do not merge into tests/fuzz/corpus (default 1)
#   FUZZ_OUT      work directory (default BUILD/fuzz-out): per target the inputs found
#                 (kept, so that the next run resumes from them), crash artifacts, logs
set -u

SECONDS_PER=${FUZZ_SECONDS:-180}
RUNS=${FUZZ_RUNS:-0}
NICE=${FUZZ_NICE:-10}
MERGE=${FUZZ_MERGE:-1}
OUT=${FUZZ_OUT:-${MESON_BUILD_ROOT:-.}/fuzz-out}
WANT=$(echo "${FUZZ_TARGETS:-}" | tr ',' ' ')
# Undefined behaviour is a crash like any other (the sanitizers' default is to go on).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
mkdir -p "$OUT"
RESULTS="$OUT/results.md"
ROWS="$OUT/.rows"
: > "$ROWS"
TOTAL_CRASHES=0

wanted() {
	[ -z "$WANT" ] && return 0
	for w in $WANT; do [ "$w" = "$1" ] && return 0; done
	return 1
}

now() { date +%s; }

# Last value of "key: N" in a libFuzzer log (status lines and final stats).
stat() { grep -o "$2[: ]* [0-9]*" "$1" | tail -n 1 | grep -o '[0-9]*$'; }

fuzz_one() {
	name=$1 dict=$2 corpora=$3 exe=$4
	d="$OUT/$name"
	mkdir -p "$d/work" "$d/artifacts"
	seed_dirs=$(echo "$corpora" | tr ':' ' ')
	dict_arg=""
	[ -n "$dict" ] && dict_arg="-dict=$dict"
	execs=0 crashes=0 cov=0 restarts=0 seed_used=""
	start=$(now)
	: > "$d/log"
	while :; do
		left=$((SECONDS_PER - ($(now) - start)))
		[ "$left" -le 0 ] && break
		runs_arg=""
		if [ "$RUNS" -gt 0 ]; then
			[ "$execs" -ge "$RUNS" ] && break
			runs_arg="-runs=$((RUNS - execs))"
		fi
		seed_arg=""
		[ -n "${FUZZ_SEED:-}" ] && seed_arg="-seed=$((FUZZ_SEED + restarts))"
		before=$(ls "$d/artifacts" | wc -l)
		# New inputs go to work/ (the first directory); the seeds are only read.
		# shellcheck disable=SC2086
		nice -n "$NICE" "$exe" -max_total_time="$left" $runs_arg $seed_arg $dict_arg \
			-timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
			-artifact_prefix="$d/artifacts/" "$d/work" $seed_dirs > "$d/log.run" 2>&1
		rc=$?
		cat "$d/log.run" >> "$d/log"
		[ -z "$seed_used" ] && seed_used=$(stat "$d/log.run" "Seed")
		n=$(stat "$d/log.run" "stat::number_of_executed_units")
		[ -z "$n" ] && n=$(grep -o '^#[0-9]*' "$d/log.run" | tail -n 1 | tr -d '#')
		execs=$((execs + ${n:-0}))
		c=$(stat "$d/log.run" "cov")
		[ -n "$c" ] && [ "$c" -gt "$cov" ] && cov=$c
		after=$(ls "$d/artifacts" | wc -l)
		# Stopped by SIGINT or SIGTERM (exit 72): the end of this target, not a crash.
		grep -q 'libFuzzer: run interrupted' "$d/log.run" && break
		if [ "$rc" -ne 0 ]; then
			crashes=$((crashes + 1))
			echo "fuzz: $name: failure (exit $rc), artifacts in $d/artifacts:" >&2
			grep -m 3 -E "ERROR|runtime error|SUMMARY" "$d/log.run" >&2
			# A crash that comes back at once (in the seeds themselves) ends the target.
			[ "$after" -le "$before" ] && break
			restarts=$((restarts + 1))
			[ "$restarts" -ge 20 ] && break
		else
			break
		fi
	done
	secs=$(($(now) - start))
	added=0
	if [ "$MERGE" = 1 ] && [ -n "$(ls "$d/work")" ]; then
		# Merge into a copy of every seed directory, so that only inputs that add coverage
		# over all of them land in the first (the repository's corpus).
		m="$d/merge"
		rm -rf "$m"
		mkdir -p "$m"
		for s in $seed_dirs; do
			for f in "$s"/*; do [ -f "$f" ] && cp "$f" "$m/"; done
		done
		ls "$m" | sort > "$d/before"
		nice -n "$NICE" "$exe" -merge=1 -timeout=25 -rss_limit_mb=4096 "$m" "$d/work" \
			> "$d/log.merge" 2>&1
		first=${seed_dirs%% *}
		for f in $(ls "$m" | sort | comm -13 "$d/before" -); do
			cp "$m/$f" "$first/$f"
			added=$((added + 1))
		done
		rm -rf "$m"
	fi
	rate=0
	[ "$secs" -gt 0 ] && rate=$((execs / secs))
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$secs" "$execs" "$rate" \
		"$cov" "$added" "$crashes" "${seed_used:-?}" >> "$ROWS"
	tail -n 1 "$ROWS"
	TOTAL_CRASHES=$((TOTAL_CRASHES + crashes))
}

while [ $# -ge 2 ]; do
	spec=$1 exe=$2
	shift 2
	name=${spec%%|*}
	rest=${spec#*|}
	dict=${rest%%|*}
	corpora=${rest#*|}
	wanted "$name" || continue
	echo "fuzz: $name for ${SECONDS_PER}s ($(date -u +%H:%M:%S) UTC)"
	fuzz_one "$name" "$dict" "$corpora" "$exe"
done

{
	echo "| target | seconds | executions | exec/s | edges | new corpus | crashes | seed |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	cat "$ROWS"
} > "$RESULTS"
echo
cat "$RESULTS"
echo "(table in $RESULTS; logs and artifacts in $OUT/TARGET/)"
rm -f "$ROWS"
[ "$TOTAL_CRASHES" -eq 0 ]
