#!/bin/sh
# Makes the VM harness's guest kernel ready (run as root by tools/install-deps.sh): fetches
# the kernel package that Debian's linux-image-amd64 currently points at, unpacks it into
# the cache with dpkg-deb -x (it is never installed: no hook runs, /boot is untouched),
# and builds a small busybox initramfs that mounts the host root over 9p.  Does nothing when
# the cache already holds that package.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vm.conf.sh"

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
if [ -z "$pkg" ]; then
	apt-get update -q >/dev/null
	pkg=$(apt-cache depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
fi
[ -n "$pkg" ] || { echo "softsa-vm: cannot resolve linux-image-amd64 to a kernel package" >&2; exit 1; }
if [ -f "$VM_STAMP" ] && [ "$(cat "$VM_STAMP")" = "$pkg" ] && [ -f "$VM_KERNEL" ] && [ -f "$VM_INITRD" ]; then
	exit 0
fi

echo "softsa-vm: preparing $pkg in $VM_CACHE"
mkdir -p "$VM_CACHE"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download as root warns that it cannot drop to the _apt user; harmless here.
(cd "$tmp" && apt-get download -qq "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
deb=$(ls "$tmp"/linux-image-*.deb)
rm -rf "$VM_KDIR" "$VM_STAMP"
dpkg-deb -x "$deb" "$VM_KDIR"
kver=$(ls "$VM_KDIR/lib/modules")
depmod -b "$VM_KDIR" "$kver"   # Debian ships the modules without modules.dep

# The vmlinuz is a bzImage around an xz stream; unpacking it once saves the guest seconds
# of decompression under emulation (the kernel has a PVH entry point, CONFIG_PVH=y).
bz=$VM_KDIR/boot/vmlinuz-$kver
off=$(LC_ALL=C grep -abo "$(printf '\3757zXZ')" "$bz" | head -n 1 | cut -d: -f1)
[ -n "$off" ] || { echo "softsa-vm: no xz stream in $bz" >&2; exit 1; }
tail -c +$((off + 1)) "$bz" | xz -dcq > "$tmp/vmlinux" 2>/dev/null || true
[ "$(head -c 4 "$tmp/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] ||
	{ echo "softsa-vm: unpacking the kernel from $bz failed" >&2; exit 1; }
mv "$tmp/vmlinux" "$VM_KERNEL"

ird=$tmp/initrd
mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/ro" "$ird/rw" "$ird/root" "$ird/mods"
cp /bin/busybox "$ird/bin/busybox"
for l in sh mount mkdir insmod switch_root cat echo sleep; do ln -s busybox "$ird/bin/$l"; done
for m in $VM_INITRD_MODS; do
	modprobe -d "$VM_KDIR" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	cp "$ko" "$ird/mods/"
	basename "$ko" >> "$ird/mods/order"
done
install -m 755 "$here/initrd-init" "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$VM_INITRD.new"
mv "$VM_INITRD.new" "$VM_INITRD"
echo "$pkg" > "$VM_STAMP"
echo "softsa-vm: kernel $kver ready"
