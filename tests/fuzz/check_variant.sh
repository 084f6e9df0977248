#!/bin/sh
# The SS_IKE_FUZZING variant of the IKE library (SK bodies in plaintext, any PSK AUTH passes)
# must never reach a shipped program.  Usage: check_variant.sh PROBE PROGRAM...
# PROBE is linked with the variant: the marker must be found there (the check can fail).
marker='SS_IKE_FUZZING variant: SK plaintext'
lib=$1
shift
if ! grep -q -a "$marker" "$lib"; then
	echo "positive control failed: no marker in $lib"
	exit 1
fi
for prog in "$@"; do
	if grep -q -a "$marker" "$prog"; then
		echo "FAIL: $prog contains the SS_IKE_FUZZING variant of the IKE library"
		exit 1
	fi
	echo "ok: $prog"
done
