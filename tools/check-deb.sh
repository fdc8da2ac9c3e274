#!/bin/bash
# Builds the Debian package in a scratch copy of the tree and checks it:
# lintian without errors, each file where the README's table says, the
# conffile, the group made by postinst, and that installing starts nothing.
# Prints one "ok - ..." / "not ok - ..." line per check; exits 1 on any
# failure. The work tree is left as it was.
#
#   tools/check-deb.sh [--install] [--keep]
#
# --install also installs the package with apt-get, dependencies and all,
# in a throwaway Debian 12 chroot (debootstrap; root; Debian's archive;
# about a minute when the host's apt cache holds the dependencies): the
# group, the conffile, nothing enabled or running, D-Bus activation on a
# bus of the chroot's own, and a purge that keeps the group. No service
# may start in the chroot but the bus and project-vmd (policy-rc.d).
# --keep leaves the scratch directory.
#
# The copy is what `git ls-files` names (tracked and untracked files that
# .gitignore does not exclude), as they are in the work tree, so build
# directories stay out and uncommitted edits are checked too.
set -uo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
keep=0 install=0
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    --install) install=1 ;;
    *) echo "usage: $0 [--install] [--keep]" >&2; exit 2 ;;
  esac
done

failures=0
ok () { echo "ok - $*"; }
not_ok () { echo "not ok - $*"; failures=$((failures + 1)); }
check () {   # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}

tmp=$(mktemp -d /tmp/check-deb.XXXXXX)
chroot_dir=$tmp/chroot
in_chroot () { chroot "$chroot_dir" "$@"; }
# The processes whose root is our chroot: only ever ones this script
# started there (the bus, project-vmd).
chroot_pids () {
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$chroot_dir" ] && echo "${p#/proc/}"
  done
}
chroot_processes () {
  local p
  for p in $(chroot_pids); do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done
}
stop_chroot_processes () {
  local pids
  pids=$(chroot_pids)
  [ -n "$pids" ] && kill $pids 2>/dev/null && sleep 0.5
  return 0
}
cleanup () {
  local m
  stop_chroot_processes
  # Whatever is mounted under the scratch directory (ours, or debootstrap's
  # after a failure), innermost first.
  for m in $(awk -v t="$tmp/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
  if grep -qF " $tmp/" /proc/self/mounts; then
    echo "# something is still mounted under $tmp: left in place" >&2
  elif [ $keep = 1 ]; then
    echo "# scratch directory: $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

# ---- build ----

tree=$tmp/project-vm
mkdir "$tree"
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
   while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
   tar --null -T - -cf -) | tar -xf - -C "$tree"

# Both cores by default; DEB_BUILD_OPTIONS from the caller wins.
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
if (cd "$tree" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
  ok "dpkg-buildpackage -us -uc -b builds the package"
else
  not_ok "dpkg-buildpackage -us -uc -b builds the package; its log ends:"
  tail -n 30 "$tmp/build.log" | sed 's/^/#   /'
  exit 1
fi
debs=("$tmp"/project-vm_*.deb)
changes=("$tmp"/project-vm_*.changes)
deb=${debs[0]}
echo "# $(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"

# ---- lintian ----

# On the .changes: lintian checks it, the .buildinfo and the .deb it lists.
lintian --fail-on error --tag-display-limit 0 "${changes[0]}" >"$tmp/lintian.log" 2>&1
lintian_status=$?
sed 's/^/# lintian: /' "$tmp/lintian.log"
if [ $lintian_status -eq 0 ] && ! grep -q '^E:' "$tmp/lintian.log"; then
  ok "lintian reports no errors on the .changes and the .deb"
else
  not_ok "lintian reports no errors on the .changes and the .deb"
fi

# ---- where each file lands ----

dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$tmp/contents"
has () { grep -qxF "$1" "$tmp/contents"; }
has_any () { for p in "$@"; do has "$p" && return 0; done; return 1; }

for path in \
    /usr/libexec/project-vmd \
    /usr/bin/project-vm \
    /usr/share/dbus-1/system.d/org.projectvm.conf \
    /usr/share/dbus-1/system-services/org.projectvm.service \
    /usr/share/polkit-1/actions/org.projectvm.policy \
    /usr/share/polkit-1/rules.d/50-project-vm.rules \
    /etc/project-vm/project-vm.conf \
    /usr/share/man/man1/project-vm.1.gz \
    /usr/share/man/man5/project-vm.conf.5.gz \
    /usr/share/man/man8/project-vmd.8.gz \
    /usr/share/doc/project-vm/README.md \
    /usr/share/doc/project-vm/copyright \
    /var/lib/project-vm/images/; do
  check "the package has $path" has "$path"
done
check "the package has the unit in /lib/systemd/system or /usr/lib/systemd/system" \
  has_any /lib/systemd/system/project-vmd.service /usr/lib/systemd/system/project-vmd.service
# The completion arrives with the CLI work of issue 9: checked once its
# source is in the tree.
if [ -e "$tree/data/completion/project-vm" ]; then
  check "the package has /usr/share/bash-completion/completions/project-vm" \
    has /usr/share/bash-completion/completions/project-vm
else
  echo "ok - # SKIP bash completion: data/completion/project-vm is not in the tree"
fi

# The shipped files point at each other: activation -> unit -> binary.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
activation=$root/usr/share/dbus-1/system-services/org.projectvm.service
unit=$(ls "$root"/lib/systemd/system/project-vmd.service \
          "$root"/usr/lib/systemd/system/project-vmd.service 2>/dev/null | head -n 1)
check "the activation file runs /usr/libexec/project-vmd through project-vmd.service" \
  grep -qx 'SystemdService=project-vmd.service' "$activation"
check "the activation file's Exec= is /usr/libexec/project-vmd" \
  grep -qx 'Exec=/usr/libexec/project-vmd' "$activation"
check "the unit has BusName=org.projectvm and runs /usr/libexec/project-vmd" \
  eval "grep -qx 'BusName=org.projectvm' '$unit' && grep -qx 'ExecStart=/usr/libexec/project-vmd' '$unit'"

# ---- maintainer scripts ----

control=$tmp/control
dpkg-deb -e "$deb" "$control"
check "DEBIAN/conffiles lists /etc/project-vm/project-vm.conf" \
  grep -qx /etc/project-vm/project-vm.conf "$control/conffiles"

# Run postinst "configure" (a first install) with every command it could
# use to change the system replaced by a stub that logs its arguments.
stubs=$tmp/stubs
mkdir "$stubs"
for cmd in addgroup adduser groupadd deb-systemd-helper deb-systemd-invoke systemctl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\n' "$cmd" "$stubs" >"$stubs/$cmd"
  # was-enabled answers yes, as the real one does before the first install;
  # debian-installed answers no: nothing is installed yet.
  [ "$cmd" = deb-systemd-helper ] &&
    printf 'case "$1" in debian-installed) exit 1;; esac\n' >>"$stubs/$cmd"
done
printf '#!/bin/sh\n[ "$1" = group ] && [ "$2" = project-vm ] && exit "${GROUP_EXISTS:-2}"\nexec /usr/bin/getent "$@"\n' >"$stubs/getent"
chmod +x "$stubs"/*
run_postinst () {   # GROUP_EXISTS=0 (it exists) or 2 (missing)
  rm -f "$stubs/calls"; touch "$stubs/calls"
  GROUP_EXISTS=$1 PATH="$stubs:$PATH" sh "$control/postinst" configure "" >/dev/null 2>&1
}
run_postinst 2
check "postinst succeeds on a first install" test $? -eq 0
check "postinst makes the system group project-vm when it is missing" \
  grep -qE '^addgroup (.* )?--system( .*)? project-vm$' "$stubs/calls"
check "postinst neither enables nor starts anything on a first install" \
  eval "! grep -qE '^(deb-systemd-helper enable|deb-systemd-invoke|systemctl (start|enable|restart))' '$stubs/calls'"
run_postinst 0
check "postinst leaves an existing group project-vm alone" \
  eval "! grep -q '^addgroup' '$stubs/calls'"
# The paths the stub run cannot reach (/run/systemd/system exists only
# under systemd): no start of the unit anywhere in postinst; an upgrade
# may only try-restart it (restarts it if it was running).
check "postinst has no deb-systemd-invoke start and no systemctl start/enable" \
  eval "! grep -qE 'deb-systemd-invoke +(start|restart)|_dh_action=start|systemctl +(--system +)?(start|enable)' '$control/postinst'"

# ---- a real install (--install) ----

install_in_chroot () {
  local mirror
  if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null; then
    echo "ok - # SKIP install: needs root and debootstrap"
    return
  fi
  mirror=$(sed -n 's|^URIs: *||p; s|^deb \(http[^ ]*\) bookworm .*|\1|p' \
             /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1)
  if ! debootstrap --variant=minbase bookworm "$chroot_dir" "${mirror:-http://deb.debian.org/debian}" \
       >"$tmp/debootstrap.log" 2>&1; then
    not_ok "debootstrap a Debian 12 chroot; its log ends:"
    tail -n 5 "$tmp/debootstrap.log" | sed 's/^/#   /'
    return
  fi
  # Nothing starts in the chroot through invoke-rc.d (libvirtd above all).
  printf '#!/bin/sh\nexit 101\n' >"$chroot_dir/usr/sbin/policy-rc.d"
  chmod +x "$chroot_dir/usr/sbin/policy-rc.d"
  mount -t proc proc "$chroot_dir/proc"
  # The host's downloaded packages, read-only under a scratch layer.
  if [ -d /var/cache/apt/archives ]; then
    mkdir -p "$tmp/apt-upper" "$tmp/apt-work"
    mount -t overlay overlay -o "lowerdir=/var/cache/apt/archives,upperdir=$tmp/apt-upper,workdir=$tmp/apt-work" \
      "$chroot_dir/var/cache/apt/archives"
  fi
  cp "$deb" "$chroot_dir/tmp/"
  in_chroot sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends /tmp/$(basename "$deb")" >"$tmp/install.log" 2>&1
  check "apt-get installs the package and its dependencies in a Debian 12 chroot" test $? -eq 0
  check "the installed package made the group project-vm" eval "in_chroot getent group project-vm >/dev/null"
  check "dpkg lists /etc/project-vm/project-vm.conf as a conffile" \
    eval "in_chroot dpkg-query -W -f='\${Conffiles}' project-vm | grep -q '^ /etc/project-vm/project-vm.conf '"
  check "the unit is not enabled" \
    eval "! ls '$chroot_dir'/etc/systemd/system/*/project-vmd.service >/dev/null 2>&1"
  check "nothing runs in the chroot after the install" test -z "$(chroot_processes)"
  check "the installed programs run (their libraries are there)" \
    eval "in_chroot project-vm --version >/dev/null && in_chroot /usr/libexec/project-vmd --version >/dev/null"

  # A system bus of the chroot's own, without systemd: dbus-daemon's
  # launch helper starts the service from the installed activation file.
  mkdir -p "$chroot_dir/run/dbus"
  in_chroot dbus-daemon --system --fork >/dev/null 2>&1
  check "project-vm list starts the service through D-Bus activation and answers" \
    eval "in_chroot project-vm list >/dev/null 2>&1 && chroot_processes | grep -q '^/usr/libexec/project-vmd'"
  stop_chroot_processes
  in_chroot dpkg --purge project-vm >"$tmp/purge.log" 2>&1
  check "dpkg --purge removes the package and its configuration" \
    eval "[ ! -e '$chroot_dir/etc/project-vm' ] && [ ! -e '$chroot_dir/usr/libexec/project-vmd' ]"
  check "the group project-vm stays after a purge" eval "in_chroot getent group project-vm >/dev/null"
}
[ $install = 1 ] && install_in_chroot

echo "# $failures failed"
[ $failures -eq 0 ]
