#!/bin/bash
# Runs one command as root inside a VM booted from Debian's own kernel (tests/vm/setup.sh
# unpacks it), for tests that need what the host kernel lacks (kernel ESP).
#
#   run.sh [--timeout S] [--mem MiB] [--cpus N] [--share DIR]... [-e VAR=VAL]... -- CMD [ARG]...
#
# The guest's root is the host's, read-only over 9p with a tmpfs over it (writes vanish at
# power-off); each --share DIR is mounted read-write at the same path; /tmp and /run are
# the guest's own.  CMD runs in the current directory with only `lo` up.  Its stdout and
# stderr come back separately; the exit status is CMD's, 124 when --timeout struck, 125
# when the guest never ran CMD (the console's tail is printed).  QEMU uses KVM where
# /dev/kvm is hardware KVM and TCG otherwise (SOFTSA_VM_ACCEL=kvm|tcg forces one); it runs
# under nice -n 10 (SOFTSA_VM_NICE).  SOFTSA_VM_CONSOLE=FILE keeps the kernel console.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vm.conf.sh"
tmo=600 mem=1024 cpus=2 shares=() envs=()
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) tmo=$2; shift 2;;
	--mem) mem=$2; shift 2;;
	--cpus) cpus=$2; shift 2;;
	--share) shares+=("$(cd "$2" && pwd)") || exit 2; shift 2;;
	-e) envs+=("$2"); shift 2;;
	--) shift; break;;
	*) echo "run.sh: unknown option $1" >&2; exit 2;;
	esac
done
[ $# -gt 0 ] || { echo "usage: run.sh [options] -- CMD [ARG]..." >&2; exit 2; }
fail() { echo "softsa-vm: $*" >&2; exit 125; }
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing: run tools/install-deps.sh as root"
[ -f "$VM_KERNEL" ] && [ -f "$VM_INITRD" ] ||
	fail "no guest kernel in $VM_CACHE: run tools/install-deps.sh (or tests/vm/setup.sh) as root"
kver=$(ls "$VM_KDIR/lib/modules" 2>/dev/null)
[ -n "$kver" ] || fail "no modules in $VM_KDIR"

x=$(mktemp -d /tmp/softsa-vm.XXXXXX)
trap 'rm -rf "$x"' EXIT
{ printf 'exec'; printf ' %q' "$@"; echo; } > "$x/cmd"
for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done > "$x/env"
echo $VM_GUEST_MODS > "$x/mods"
: > "$x/out"; : > "$x/err"
console=${SOFTSA_VM_CONSOLE:-$x/console}

# Paths go on the kernel command line, so none may contain a space.
# no_timer_check: under emulation on a loaded host the kernel's early check that the IO-APIC
# timer ticks can miss, and it panics ("IO-APIC + timer doesn't work", seen with a fuzzer on
# the other core); the timer works, it was only slow.
cmdline="console=ttyS0 quiet loglevel=3 panic=-1 oops=panic rdinit=/init no_timer_check"
cmdline+=" softsa.init=$here/guest-init.sh softsa.kdir=$VM_KDIR softsa.cwd=$PWD"
p9() { echo "-fsdev local,id=$1,path=$2,security_model=none,multidevs=remap$3 -device virtio-9p-pci,fsdev=$1,mount_tag=$1"; }
devs="$(p9 hostroot / ,readonly=on) $(p9 xchg "$x" "")"
i=0
for d in "${shares[@]}"; do
	cmdline+=" softsa.share$i=$d"
	devs+=" $(p9 share$i "$d" "")"
	i=$((i + 1))
done
# PVM (kvm_pvm, this kind of nested cloud machine) runs only kernels built for it; a stock
# kernel crawls there, so it counts as no KVM.
accel=${SOFTSA_VM_ACCEL:-}
if [ -z "$accel" ]; then
	if [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then accel=kvm; else accel=tcg; fi
fi
case $accel in
kvm) acc="-accel kvm -cpu host";;
tcg) acc="-accel tcg,thread=multi,tb-size=256 -cpu max";;
*) fail "SOFTSA_VM_ACCEL=$accel: kvm or tcg";;
esac

t0=$(date +%s)
# shellcheck disable=SC2086
timeout -k 5 "$tmo" nice -n "${SOFTSA_VM_NICE:-10}" qemu-system-x86_64 $acc \
	-machine q35 -m "$mem" -smp "$cpus" -nodefaults -no-user-config -nographic -no-reboot \
	-vga none -nic none -monitor none -serial "file:$console" \
	-kernel "$VM_KERNEL" -initrd "$VM_INITRD" -append "$cmdline" $devs \
	-device virtio-serial-pci \
	-chardev file,id=out,path="$x/out" -device virtserialport,chardev=out,name=softsa.out \
	-chardev file,id=err,path="$x/err" -device virtserialport,chardev=err,name=softsa.err \
	< /dev/null > "$x/qemu.log" 2>&1
qrc=$?
cat "$x/out"
cat "$x/err" >&2
if [ -f "$x/rc" ]; then
	rc=$(cat "$x/rc")
elif [ $qrc = 124 ] || [ $qrc = 137 ]; then
	echo "softsa-vm: timed out after $tmo s" >&2
	rc=124
else
	echo "softsa-vm: the guest did not run the command (qemu exit $qrc, accel $accel)" >&2
	tail -n 20 "$x/qemu.log" "$console" >&2
	rc=125
fi
echo "softsa-vm: $accel, $(( $(date +%s) - t0 )) s, exit $rc" >&2
exit "$rc"
