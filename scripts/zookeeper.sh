#!/usr/bin/env bash
# Runs a local standalone ZooKeeper from Debian's zookeeper package (installed by
# scripts/install-deps.sh) for trying Agora's HA mode by hand:
#
#   scripts/zookeeper.sh start    # background, 127.0.0.1:${ZK_PORT:-2181}, data in ${ZK_DIR:-.work/zookeeper}
#   scripts/zookeeper.sh status   # "imok"-style check and the server's mode
#   scripts/zookeeper.sh stop
#   scripts/zookeeper.sh run      # foreground, Ctrl-C stops it
#
# Then point masters at zk://127.0.0.1:2181/agora. The tests do not use this script: they
# start their own servers on free ports (zookeeper/zktest).
set -euo pipefail

port=${ZK_PORT:-2181}
dir=${ZK_DIR:-.work/zookeeper}
jar=/usr/share/java/zookeeper.jar
cp="$jar:/usr/share/java/slf4j-simple.jar"

die() { echo "zookeeper.sh: $*" >&2; exit 1; }
[ -f "$jar" ] || die "ZooKeeper is not installed ($jar missing): run make deps"
command -v java >/dev/null || die "java not found: run make deps"

four() { # sends a four-letter command, prints the answer
  exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
  printf '%s' "$1" >&3
  cat <&3
  exec 3<&-
}

config() {
  mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
dataDir=$(cd "$dir" && pwd)/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,stat,cons
CFG
}

java_cmd=(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dzookeeper.jmx.log4j.disable=true
  -cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain)

case "${1:-}" in
  run)
    config
    exec "${java_cmd[@]}" "$dir/zoo.cfg"
    ;;
  start)
    if four srvr 2>/dev/null | grep -q Mode; then die "something already serves ZooKeeper on 127.0.0.1:$port"; fi
    config
    nohup "${java_cmd[@]}" "$(cd "$dir" && pwd)/zoo.cfg" >"$dir/zookeeper.log" 2>&1 &
    echo $! >"$dir/zookeeper.pid"
    for _ in $(seq 1 100); do
      if four srvr 2>/dev/null | grep -q 'Mode: standalone'; then
        echo "ZooKeeper serving on 127.0.0.1:$port (pid $(cat "$dir/zookeeper.pid"), log $dir/zookeeper.log)"
        exit 0
      fi
      kill -0 "$(cat "$dir/zookeeper.pid")" 2>/dev/null || { tail -20 "$dir/zookeeper.log" >&2; die "ZooKeeper exited"; }
      sleep 0.2
    done
    die "ZooKeeper not serving on 127.0.0.1:$port after 20s (see $dir/zookeeper.log)"
    ;;
  stop)
    [ -f "$dir/zookeeper.pid" ] || die "no $dir/zookeeper.pid: not started by this script"
    pid=$(cat "$dir/zookeeper.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/zookeeper.pid"
    echo "ZooKeeper stopped"
    ;;
  status)
    four srvr 2>/dev/null | grep -E 'Mode|Zxid|Node count' || die "nothing serves ZooKeeper on 127.0.0.1:$port"
    ;;
  *)
    die "usage: $0 run|start|stop|status (env ZK_PORT, ZK_DIR)"
    ;;
esac
