#!/usr/bin/env bash
# make package-test: builds the .deb (cpack), installs it — `dpkg -i` into this machine when
# root (CI; purged again afterwards unless it was installed before, and then the tern user and
# /var/lib/tern that its postinst made, which a purge keeps on purpose, are removed too), else
# `dpkg-deb -x` into a temp root — checks its contents (binaries, config,
# systemd unit) and starts the installed ternd once on loopback (--plain-tcp, free ports, a temp
# data folder), waits for its listening line and a /healthz answer, then stops it with SIGTERM
# and expects exit 0. Usage: packaging/package_test.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: package_test.sh BUILD_DIR}
start=$(date +%s)
tmp=$(mktemp -d)
pid=
purge=  # set when this test installed the package on a machine that did not have it
made_user= made_dir=  # set when that install created the tern user / /var/lib/tern
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  if [ -n "$purge" ]; then dpkg --purge tern >/dev/null 2>&1 || true; fi
  if [ -n "$made_user" ]; then userdel tern >/dev/null 2>&1 || true; fi
  if [ -n "$made_dir" ]; then rm -rf /var/lib/tern; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "package-test: FAIL: $*" >&2; [ -f "$tmp/ternd.log" ] && sed 's/^/  ternd: /' "$tmp/ternd.log" >&2; exit 1; }

(cd "$build" && cpack -G DEB >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; fail "cpack"; }
deb=$(ls -t "$build"/tern_*.deb | head -1)
echo "package-test: built $deb ($(du -k "$deb" | cut -f1) KiB) in $(( $(date +%s) - start ))s"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/ternd ./usr/bin/tern ./usr/bin/tern-admin ./usr/bin/tern-weaknet ./usr/bin/tern-loadgen \
         ./etc/tern/ternd.conf ./usr/lib/systemd/system/ternd.service; do
  grep -q " $f\$" <<<"$contents" || fail "$f is not in the package"
done
dpkg-deb -f "$deb" Depends | grep -q libuv1 || fail "Depends lacks libuv1 (shlibdeps)"
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/tern/ternd.conf "$tmp/control/conffiles" || fail "ternd.conf is not a conffile"

if [ "$(id -u)" = 0 ]; then
  dpkg-query -W -f='${Status}' tern 2>/dev/null | grep -q "install ok installed" || purge=1
  if [ -n "$purge" ]; then
    getent passwd tern >/dev/null || made_user=1
    [ -e /var/lib/tern ] || made_dir=1
  fi
  DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -i"; }
  root=/
  getent passwd tern >/dev/null || fail "postinst did not create the tern user"
  [ -d /var/lib/tern ] || fail "postinst did not create /var/lib/tern"
  echo "package-test: installed with dpkg -i ($(dpkg-query -W -f='${Package} ${Version}' tern))"
else
  dpkg-deb -x "$deb" "$tmp/root"
  root=$tmp/root/
  echo "package-test: not root: extracted into $root"
fi
ternd=${root}usr/bin/ternd
conf=${root}etc/tern/ternd.conf
[ -x "$ternd" ] || fail "$ternd missing"
grep -q '^# queue_cap = 100000$' "$conf" || fail "$conf does not list queue_cap with its default"

# Start the installed binary with the installed (all-commented) config on free loopback ports.
mkfifo "$tmp/out"
"$ternd" --config "$conf" --data "$tmp/data" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --plain-tcp \
  >"$tmp/out" 2>"$tmp/ternd.log" &
pid=$!
exec 3<"$tmp/out"
listening= admin=
deadline=$(( $(date +%s) + 20 ))
while [ -z "$listening" ] && [ "$(date +%s)" -lt "$deadline" ]; do
  IFS= read -r -t 5 line <&3 || fail "ternd printed no listening line"
  case $line in
    "ternd admin listening on "*) admin=${line#ternd admin listening on }; admin=${admin%% *} ;;
    "ternd listening on "*) listening=${line#ternd listening on } ;;
  esac
done
[ -n "$listening" ] || fail "no listening line within 20 s"
echo "package-test: installed ternd listening on $listening (admin $admin)"
health=$(exec 4<>"/dev/tcp/${admin%:*}/${admin##*:}"; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' >&4; cat <&4)
grep -q '^HTTP/1.1 200 OK' <<<"$health" || fail "/healthz: $health"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "ternd exited $rc after SIGTERM"
echo "package-test: ok in $(( $(date +%s) - start ))s"
