# Where the VM harness keeps Debian's guest kernel, and what the guest loads (sourced by
# setup.sh and run.sh).  The cache must be on a local file system: the guest reads it
# through the host root it mounts over 9p.
VM_CACHE=${SOFTSA_VM_CACHE:-/var/cache/softsa-vm}
VM_KDIR=$VM_CACHE/kernel            # dpkg-deb -x of linux-image-*-amd64, never installed
VM_KERNEL=$VM_CACHE/vmlinux         # uncompressed: QEMU enters it by PVH, no decompressor
VM_INITRD=$VM_CACHE/initrd.cpio.gz
VM_STAMP=$VM_CACHE/package          # the kernel package the cache was made from
# The initramfs needs these to reach the 9p root (their dependencies come along).
VM_INITRD_MODS="virtio_pci 9pnet_virtio 9p overlay virtio_console"
# Loaded in the guest before the command runs (cbc, hmac, sha256 are built in).  aesni_intel
# first, so that rfc4106(gcm(aes)) is built from the accelerated cipher, not the generic
# templates.  nft_queue and nfnetlink_queue: the kernel dataplane's held packets
# (src/dataplane/xfrm/hold.h); the kernel would load them on demand, but a missing module
# should fail here, visibly, not as a softsad that quietly falls back to the kernel's queue.
VM_GUEST_MODS="aesni_intel ghash_clmulni_intel sha256_ssse3 gcm seqiv echainiv authenc
xfrm_user esp4 esp6 xfrm4_tunnel xfrm6_tunnel veth nf_tables nft_queue nfnetlink_queue"
