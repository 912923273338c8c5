#!/usr/bin/env bash
# cgroup2-vm.sh runs the tests of agent/cgroups in a virtual machine whose only cgroup hierarchy
# is cgroup v2 (unified): the hosts we develop and test on are cgroup v1 hosts, where the v2 code
# paths never run. `make test-cgroup2` runs it, and `make test` after the unit tests.
#
#   1. installs qemu-system-x86 and busybox-static from Debian's packages when missing
#   2. fetches Debian's kernel package once (apt-get download) and keeps its boot/ under
#      .work/vm/kernel/ (Debian's kernel has cgroup2, tmpfs, devtmpfs and the serial console
#      built in, so the guest needs no modules and no disk)
#   3. builds the package's test binary statically (CGO_ENABLED=0 go test -c)
#   4. packs it with busybox and an /init script into an initramfs (cpio newc, gzip): /init
#      mounts proc, sysfs, devtmpfs, /tmp and cgroup2 on /sys/fs/cgroup (cgroup_no_v1=all on the
#      kernel command line keeps every v1 controller off), enables the controllers at the root
#      as systemd does, runs the tests as root with -cgroups.version=2 (so that they fail
#      rather than skip when the guest is not a v2 host) and prints CGROUP2-VM-EXIT=<status>
#      before it powers off
#   5. boots it with qemu, streams the guest's console (also kept in .work/vm/console.log) and
#      exits with the test binary's status; without that line (kernel panic, timeout) it fails
#      and says why
#
# Arguments go to the test binary after its defaults (-test.v -test.count=1 ...), e.g.
#   scripts/cgroup2-vm.sh -test.run TestOOM
#
# The accelerator: KVM when /dev/kvm is usable and the CPU has hardware virtualization (vmx or
# svm); otherwise qemu's own emulation (TCG), which boots the guest and runs the tests in about
# ten seconds. KVM without vmx/svm is a nested, software KVM (kvm_pvm on cloud sandboxes): it
# runs only guest kernels built for it, and Debian's crawls through early boot and then stops on
# an instruction it cannot emulate, so TCG is used there too.
#
# Environment:
#   CGROUP2_VM_ACCEL    auto (default), kvm or tcg. With kvm and no usable /dev/kvm the run
#                       is skipped (exit 0), or fails in CI (CI=true)
#   CGROUP2_VM_KERNEL   a vmlinuz to boot instead of Debian's (with the above built in)
#   CGROUP2_VM_APPEND   more kernel command line, e.g. swapaccount=0
#   CGROUP2_VM_TIMEOUT  seconds the guest may run in all (default 100)
#   CGROUP2_VM_MEM      guest memory in MiB (default 1024)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

out=$root/.work/vm
accel=${CGROUP2_VM_ACCEL:-auto}
timeout_s=${CGROUP2_VM_TIMEOUT:-100}
mem=${CGROUP2_VM_MEM:-1024}
start=$(date +%s)

say() { echo "cgroup2-vm: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# --- accelerator ------------------------------------------------------------------------------
kvm_usable=false
[[ -c /dev/kvm && -r /dev/kvm && -w /dev/kvm ]] && kvm_usable=true
hw_virt=false
grep -qwE 'vmx|svm' /proc/cpuinfo && hw_virt=true
case $accel in
auto)
	if $kvm_usable && $hw_virt; then
		accel=kvm
	else
		accel=tcg
		if ! $kvm_usable; then
			say "no usable /dev/kvm: emulating the guest (TCG)"
		else
			say "/dev/kvm without vmx/svm (a software KVM that cannot run Debian's kernel): emulating the guest (TCG)"
		fi
	fi
	;;
kvm)
	if ! $kvm_usable; then
		why="CGROUP2_VM_ACCEL=kvm, but /dev/kvm is missing or not readable and writable by $(id -un)"
		[[ ${CI:-} == true ]] && die "FAIL: $why"
		say "SKIP: $why; the cgroup v2 tests did not run"
		exit 0
	fi
	;;
tcg) ;;
*) die "CGROUP2_VM_ACCEL=$accel: want auto, kvm or tcg" ;;
esac

# --- packages ---------------------------------------------------------------------------------
# busybox-static (not busybox, which is linked dynamically) because the guest has no libc.
missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
[[ $(dpkg-query -W -f '${db:Status-Status}' busybox-static 2>/dev/null) == installed ]] || missing+=(busybox-static)
if ((${#missing[@]} > 0)); then
	say "installing: ${missing[*]}"
	if [[ $(id -u) -ne 0 ]]; then
		if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
			die "need root to install ${missing[*]} (apt-get); install them and re-run"
		fi
	else
		SUDO=
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
busybox=/bin/busybox # where busybox-static puts it

# --- kernel -----------------------------------------------------------------------------------
# The package linux-image-amd64 depends on names the current kernel (linux-image-6.1.0-N-amd64).
# Only boot/ is unpacked from it: the modules are not needed.
kernel=${CGROUP2_VM_KERNEL:-}
if [[ -z $kernel ]]; then
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')
	if [[ -n $pkg && -d $out/kernel/$pkg/boot ]]; then
		kernel=$(ls "$out/kernel/$pkg"/boot/vmlinuz-* 2>/dev/null | head -n1)
	elif [[ -n $pkg ]]; then
		say "fetching the kernel $pkg"
		mkdir -p "$out"
		dl=$(mktemp -d "$out/dl.XXXXXX")
		trap 'rm -rf "$dl"' EXIT
		# apt-get download writes to the current directory (as root it warns that _apt cannot
		# write there; the download is fine).
		(cd "$dl" && apt-get download -qq "$pkg" 2>&1 | grep -v 'unsandboxed as root' >&2 || true)
		deb=$(ls "$dl"/*.deb 2>/dev/null | head -n1)
		[[ -n $deb ]] || die "apt-get download $pkg fetched nothing"
		mkdir -p "$dl/x"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl/x" --wildcards './boot/*'
		mkdir -p "$out/kernel"
		rm -rf "$out/kernel/$pkg"
		mv "$dl/x" "$out/kernel/$pkg"
		kernel=$(ls "$out/kernel/$pkg"/boot/vmlinuz-* 2>/dev/null | head -n1)
	else
		# No apt metadata (offline, not Debian): the newest kernel fetched before, if any.
		kernel=$(ls -t "$out"/kernel/*/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
	fi
fi
[[ -n $kernel && -r $kernel ]] || die "no kernel to boot (apt-cache knows no linux-image-amd64 and none is cached under $out/kernel; set CGROUP2_VM_KERNEL)"

# --- test binary and initramfs ----------------------------------------------------------------
mkdir -p "$out"
rootfs=$out/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,dev,proc,sys,tmp,etc}
CGO_ENABLED=0 go test -c -o "$rootfs/cgroups.test" ./agent/cgroups/

# Every applet gets a link, so that /bin/sh and whatever the tests' shell scripts call (sleep,
# head, tr, ...) resolve as they do on a host.
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
	[[ $applet == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
done

# The test binary's arguments, one per line (the kernel command line would mangle them).
{
	printf '%s\n' -test.v -test.count=1 -test.timeout="$((timeout_s > 20 ? timeout_s - 10 : timeout_s))s" -cgroups.version=2
	for a in "$@"; do printf '%s\n' "$a"; done
} >"$rootfs/args"

cat >"$rootfs/init" <<'EOF'
#!/bin/sh
# PID 1 of the guest: mount what the tests need, run them, report, power off.
export PATH=/bin HOME=/tmp TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Enable at the root every controller the tests use that the kernel has, as systemd does on a
# cgroup v2 host.
want=
for c in cpuset cpu io memory pids; do
	grep -qw "$c" /sys/fs/cgroup/cgroup.controllers && want="$want +$c"
done
echo "$want" >/sys/fs/cgroup/cgroup.subtree_control
echo "cgroup2-vm: kernel $(uname -r), $(nproc) CPUs, cgroup2 controllers:$want"
set --
while IFS= read -r a; do set -- "$@" "$a"; done </args
cd /tmp
/cgroups.test "$@"
echo "CGROUP2-VM-EXIT=$?"
poweroff -f
EOF
chmod 755 "$rootfs/init"

initrd=$out/initrd.cpio.gz
(cd "$rootfs" && find . | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null | gzip -1 >"$initrd")

# --- boot -------------------------------------------------------------------------------------
# -no-reboot with panic=-1 turns a kernel panic (or an /init that exits) into qemu exiting.
# The console is the first serial port on qemu's stdout; stdin is closed.
log=$out/console.log
case $accel in
kvm) accel_args=(-accel kvm) ;;
tcg) accel_args=(-accel tcg,thread=multi -cpu max) ;;
esac
say "booting $(basename "$kernel") with $accel (timeout ${timeout_s}s; console also in $log)"
set +e
timeout -k 5 "$timeout_s" qemu-system-x86_64 "${accel_args[@]}" -m "$mem" -smp 2 \
	-display none -monitor none -serial stdio -no-reboot \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all ${CGROUP2_VM_APPEND:-}" </dev/null 2>&1 |
	tr -d '\r' | tee "$log"
qemu_status=${PIPESTATUS[0]}
set -e

marker=$(grep -a '^CGROUP2-VM-EXIT=' "$log" | tail -n1 || true)
elapsed=$(($(date +%s) - start))
if [[ -z $marker ]]; then
	case $qemu_status in
	124 | 137) die "FAIL: the guest did not finish within ${timeout_s}s (after ${elapsed}s in all; see $log)" ;;
	0) die "FAIL: the guest stopped without reporting the tests' status (kernel panic? see $log)" ;;
	*) die "FAIL: qemu exited with status $qemu_status without the tests' status (see $log)" ;;
	esac
fi
status=${marker#CGROUP2-VM-EXIT=}
if [[ $status == 0 ]]; then
	say "PASS: agent/cgroups tests on cgroup v2 in ${elapsed}s"
else
	say "FAIL: agent/cgroups tests on cgroup v2 exited with status $status (${elapsed}s)"
fi
exit "$status"
