#!/bin/bash
# PID 1 of the test VM, run from the host's (read-only, overlaid) root after the initramfs.
# Mounts what a test needs, loads the guest kernel's modules from the unpacked package,
# mounts the shared host directories read-write at their own paths, runs the command from
# the exchange share with stdout and stderr on two virtio serial ports, leaves its exit
# status in the exchange share and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
declare -A arg
for a in $(</proc/cmdline); do
	case $a in softsa.*=*) k=${a%%=*}; arg[${k#softsa.}]=${a#*=};; esac
done
mkdir -p /dev/pts /dev/shm
mount -t devpts -o mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
ln -sf /proc/self/fd /dev/fd
# The guest kernel's modules, before tmpfs covers anything that might hold the cache.
kver=$(uname -r)
mkdir -p "/lib/modules/$kver" && mount --bind "${arg[kdir]}/lib/modules/$kver" "/lib/modules/$kver"
for d in /run /tmp /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$d"; done
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mkdir -p /run/softsa-vm
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none xchg /run/softsa-vm
x=/run/softsa-vm
poweroff_now() { sync; umount "$x" 2>/dev/null; echo o > /proc/sysrq-trigger; sleep 30; }

out=/dev/ttyS0 err=/dev/ttyS0
for p in /sys/class/virtio-ports/*; do
	case $(cat "$p/name" 2>/dev/null) in
		softsa.out) out=/dev/${p##*/};;
		softsa.err) err=/dev/${p##*/};;
	esac
done
# One modprobe for the whole list: every exec from 9p is slow under emulation.
mods=$(cat "$x/mods")
modprobe -qa $mods
for m in $mods; do
	[ -d "/sys/module/$m" ] || echo "softsa-vm: module $m did not load" > "$err"
done
ip link set lo up
sysctl -qw kernel.printk="3 4 1 3"
for k in "${!arg[@]}"; do
	case $k in share*)
		mkdir -p "${arg[$k]}"
		mount -t 9p -o trans=virtio,version=9p2000.L,cache=mmap,msize=512000 "$k" "${arg[$k]}" ||
			echo "softsa-vm: cannot mount ${arg[$k]}" > "$err";;
	esac
done
cd "${arg[cwd]:-/}" 2>/dev/null || cd /
export HOME=/root SOFTSA_VM_GUEST=1
. "$x/env"
setsid bash "$x/cmd" < /dev/null > "$out" 2> "$err" &
wait $!
echo $? > "$x/rc"
poweroff_now
