#!/bin/sh
# Runs every benchmark against a build directory: ./bench/run.sh build
set -eu
BUILD=${1:-build}
if [ ! -x "$BUILD/bench/classify" ]; then
	echo "$BUILD/bench/classify not built; run 'make build' first" >&2
	exit 1
fi
"$BUILD/bench/classify"
