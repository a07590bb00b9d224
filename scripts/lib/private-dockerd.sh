# Helpers for scripts that need a private dockerd (sourced, not run).
#
#   start_dockerd DIR [AUTHZ_PLUGIN]   starts dockerd with its state in DIR
#   import_testimg DIR                 imports a busybox image as testimg:latest
#   stop_dockerd DIR                   removes its containers, then stops it
#
# Needs root, dockerd, the docker CLI and busybox-static (scripts/test
# installs them).

start_dockerd() {
  local dir=$1 plugin=${2:-}
  mkdir -p "$dir"
  dockerd --host "unix://$dir/docker.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
    --pidfile "$dir/docker.pid" --bridge none --iptables=false \
    ${plugin:+--authorization-plugin=$plugin} >"$dir/dockerd.log" 2>&1 &
  for _ in $(seq 1 300); do
    DOCKER_HOST="unix://$dir/docker.sock" docker version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "dockerd in $dir did not start; see $dir/dockerd.log" >&2
  return 1
}

import_testimg() {
  local dir=$1 root
  root=$(mktemp -d)
  mkdir -p "$root/bin"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for tool in sh true sleep id; do ln -s busybox "$root/bin/$tool"; done
  tar -C "$root" -c . | DOCKER_HOST="unix://$dir/docker.sock" docker import - testimg:latest >/dev/null
  rm -rf "$root"
}

stop_dockerd() {
  local dir=$1 ids
  ids=$(DOCKER_HOST="unix://$dir/docker.sock" docker ps -aq 2>/dev/null || true)
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    DOCKER_HOST="unix://$dir/docker.sock" docker rm -f $ids >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/docker.pid" ]; then
    kill "$(cat "$dir/docker.pid")" 2>/dev/null || true
    for _ in $(seq 1 150); do [ -f "$dir/docker.pid" ] || break; sleep 0.2; done
  fi
  grep -o " $dir[^ ]*" /proc/mounts | sort -r | while read -r point; do umount -l "$point" 2>/dev/null || true; done
}
