#!/usr/bin/env bash
# Sets up deckhand on this machine and runs its main job (README's first
# command): installs dependencies, builds, installs under /usr/local and starts
# the agent in standalone mode with the default config, in the background.
# Running it again rebuilds and restarts the agent it started before.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${DECKHAND_PREFIX:-/usr/local}
pidfile=/run/deckhand/agent.pid
logfile=/var/log/deckhand/agent.log

bash scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" --target deckhand deckhand-agent deckhand-monitor deckhand-dirstore deckhand-runtime-native \
  deckhand-storage-overlay
cmake --install build --prefix "$prefix" >/dev/null

# Stop the agent this script started last time (by its recorded PID only).
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null \
   && grep -q deckhand "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null; then
  echo "stopping the previous agent (pid $(cat "$pidfile"))"
  kill -TERM "$(cat "$pidfile")"
  for _ in $(seq 100); do kill -0 "$(cat "$pidfile")" 2>/dev/null || break; sleep 0.1; done
fi

mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
chmod 0700 "$(dirname "$pidfile")"
nohup "$prefix/bin/deckhand" agent >>"$logfile" 2>&1 </dev/null &
echo $! >"$pidfile"

config="$prefix/etc/deckhand/config.yaml"
listen=$(sed -n 's/^listen: *\([^ #]*\).*/\1/p' "$config")
listen=${listen:-127.0.0.1:10248}
for _ in $(seq 100); do
  if curl -fsS "http://$listen/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "the agent exited; its log ($logfile) ends with:" >&2; tail -n 20 "$logfile" >&2; exit 1
  fi
  sleep 0.1
done
curl -fsS "http://$listen/readyz" >/dev/null || { echo "the agent is not ready; see $logfile" >&2; exit 1; }

# The example pod: busybox (Debian's busybox-static, made an OCI image with
# umoci), loaded into the agent's store, then applied like any manifest.
image_dir=$(mktemp -d /tmp/deckhand-quickstart-XXXXXX)
trap 'rm -rf "$image_dir"' EXIT
bash tests/fixtures/make-busybox-image.sh "$image_dir/layout" busybox >/dev/null
tar -C "$image_dir/layout" -cf "$image_dir/busybox.tar" .
"$prefix/bin/deckhand" image load -i "$image_dir/busybox.tar" --name deckhand.local/example/busybox:1 >/dev/null
"$prefix/bin/deckhand" apply -f examples/pods/hello-web.yaml
for _ in $(seq 300); do
  if curl -fsS http://127.0.0.1:8080/ >/dev/null 2>&1; then break; fi
  sleep 0.1
done
page=$(curl -fsS http://127.0.0.1:8080/) || {
  echo "the example pod does not answer on 127.0.0.1:8080:" >&2
  "$prefix/bin/deckhand" describe pod hello-web >&2 || true
  exit 1
}

cat <<MSG

deckhand agent is running in standalone mode (pid $(cat "$pidfile")).
  config:   $config
  health:   http://$listen/healthz
  ready:    http://$listen/readyz
  metrics:  http://$listen/metrics
  log:      $logfile

The example pod hello-web (examples/pods/hello-web.yaml) answers:
  \$ curl http://127.0.0.1:8080/
  $page

Try:
  $prefix/bin/deckhand get pods -o wide
  $prefix/bin/deckhand describe pod hello-web
  $prefix/bin/deckhand logs hello-web
  $prefix/bin/deckhand plugins
  $prefix/bin/deckhand version
  curl http://$listen/readyz
Stop it with: kill \$(cat $pidfile)
MSG
