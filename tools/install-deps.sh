#!/bin/sh
# Install the Debian packages softsa needs to build, test and demo, when they are missing.
# Run as root (CI and `make check` on a fresh machine); as another user it only reports.
set -eu

# Build and unit tests.
PKGS="meson ninja-build pkg-config gcc libc6-dev libssl-dev libyaml-dev libcmocka-dev
libjansson-dev libmnl-dev libnftables-dev libsystemd-dev"
# Fuzz targets (libFuzzer) and sanitizers.
PKGS="$PKGS clang libclang-rt-14-dev"
# Real-network tests: namespaces, nftables, capture and dissection, independent ESP, strongSwan peer.
PKGS="$PKGS iproute2 iputils-ping nftables tcpdump tshark python3 python3-scapy python3-cryptography netcat-openbsd
strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins
libstrongswan-standard-plugins"
# Manual pages (the test renders them with groff and man).
PKGS="$PKGS groff-base man-db"
# The Debian package (make deb) and its test: build, lint, install into a scratch root.
PKGS="$PKGS dpkg-dev debhelper lintian"
# The directory policy source (doc/directory.md): OpenLDAP's client library; slapd and the
# ldap-utils for the tests, which run their own slapd on the loopback.
PKGS="$PKGS libldap-dev slapd ldap-utils"
# Benchmarks.
PKGS="$PKGS iperf3 hyperfine openssl"
# The VM suite (tests/vm): QEMU, and what tests/vm/setup.sh needs to unpack Debian's kernel.
PKGS="$PKGS qemu-system-x86 busybox-static kmod cpio xz-utils"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done
vm_kernel() {
	# The guest kernel of tests/vm: fetched and unpacked (never installed) once per package.
	[ "$(id -u)" -ne 0 ] || "$(dirname "$0")/../tests/vm/setup.sh"
}
[ -z "$missing" ] && { vm_kernel; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
	echo "softsa: missing Debian packages:$missing" >&2
	echo "softsa: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "softsa: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the answer does not matter here.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
# slapd: no database of its own and no questions; the tests give it their own cn=config.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
# shellcheck disable=SC2086
if ! apt-get install -y -q --no-install-recommends $missing; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
fi
# slapd must not be left running as a system service: where the package started one, stop
# it (by its PID file) and, under systemd, keep it from starting at boot.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	systemctl disable --now slapd >/dev/null 2>&1 || true
fi
pid=$(cat /run/slapd/slapd.pid 2>/dev/null || true)
if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = slapd ]; then
	kill "$pid"
fi
vm_kernel
