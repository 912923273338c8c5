#!/usr/bin/env bash
# Runs 3 masters elected in a local ZooKeeper and 2 agents that follow the leader, on one
# machine, to try failover by hand:
#
#   make build
#   scripts/ha-cluster.sh start     # ZooKeeper (scripts/zookeeper.sh) on 127.0.0.1:$ZK_PORT (2181),
#                                   # masters on 127.0.0.1:5050-5052 and agents on :5061-5062
#                                   # (from $HA_PORT_BASE), logs in $HA_DIR (.work/ha)
#   scripts/ha-cluster.sh status    # who leads ("elected" in each master's /state)
#   scripts/ha-cluster.sh kill      # SIGKILL the leader: a standby leads after the session
#                                   # timeout ($ZK_SESSION_TIMEOUT, default 4secs)
#   scripts/ha-cluster.sh term      # SIGTERM the leader: its znode goes at once
#   scripts/ha-cluster.sh restart N # start master N (0-2) again, as a standby
#   scripts/ha-cluster.sh stop      # everything, ZooKeeper included
#
# Frameworks follow the leader given the same URL: bin/agora marathon --master zk://127.0.0.1:2181/agora
set -euo pipefail

cd "$(dirname "$0")/.."
bin=${AGORA_BIN:-bin/agora}
dir=${HA_DIR:-.work/ha}
zk_port=${ZK_PORT:-2181}
zk="zk://127.0.0.1:$zk_port/agora"
session=${ZK_SESSION_TIMEOUT:-4secs}
base=${HA_PORT_BASE:-5050}
masters=("$base" $((base + 1)) $((base + 2)))
agents=($((base + 11)) $((base + 12)))

die() { echo "ha-cluster.sh: $*" >&2; exit 1; }
[ -x "$bin" ] || die "$bin missing: run make build"

start_master() { # index
  local i=$1 port=${masters[$1]}
  mkdir -p "$dir/master-$i"
  nohup "$bin" master --ip 127.0.0.1 --port "$port" --work_dir "$dir/master-$i" \
    --zk "$zk" --zk_session_timeout "$session" --quorum 2 >"$dir/master-$i.log" 2>&1 &
  echo $! >"$dir/master-$i.pid"
  echo "master-$i on 127.0.0.1:$port (pid $!, log $dir/master-$i.log)"
}

elected() { # port: prints true/false, or nothing if the master does not answer
  curl -fsS --max-time 2 "http://127.0.0.1:$1/state" 2>/dev/null | grep -o '"elected":[a-z]*' | cut -d: -f2
}

leader() { # prints the index of the leading master
  for i in "${!masters[@]}"; do
    if [ "$(elected "${masters[$i]}")" = true ]; then echo "$i"; return 0; fi
  done
  return 1
}

signal_leader() { # signal
  local i
  i=$(leader) || die "no master leads"
  kill "-$1" "$(cat "$dir/master-$i.pid")"
  echo "sent SIG$1 to master-$i (127.0.0.1:${masters[$i]}); waiting for a new leader"
  local start=$SECONDS
  for _ in $(seq 1 300); do
    if j=$(leader) && [ "$j" != "$i" ]; then
      echo "master-$j leads after ~$((SECONDS - start))s"
      return 0
    fi
    sleep 0.1
  done
  die "no new leader after 30s"
}

case "${1:-}" in
  start)
    mkdir -p "$dir"
    ZK_PORT=$zk_port ZK_DIR="$dir/zookeeper" scripts/zookeeper.sh start
    for i in "${!masters[@]}"; do start_master "$i"; done
    for i in "${!agents[@]}"; do
      port=${agents[$i]}
      mkdir -p "$dir/agent-$i"
      nohup "$bin" agent --master "$zk" --ip 127.0.0.1 --port "$port" --work_dir "$dir/agent-$i" \
        --resources "cpus:2;mem:2048;disk:10000;ports:[$((31000 + i * 1000))-$((31999 + i * 1000))]" \
        >"$dir/agent-$i.log" 2>&1 &
      echo $! >"$dir/agent-$i.pid"
      echo "agent-$i on 127.0.0.1:$port (pid $!, log $dir/agent-$i.log)"
    done
    echo "masters: $zk"
    ;;
  status)
    for i in "${!masters[@]}"; do
      echo "master-$i 127.0.0.1:${masters[$i]}: elected=$(elected "${masters[$i]}" || true)"
    done
    ;;
  kill) signal_leader KILL ;;
  term) signal_leader TERM ;;
  restart)
    [ -n "${2:-}" ] && [ "$2" -ge 0 ] && [ "$2" -lt "${#masters[@]}" ] || die "restart wants a master index 0-$((${#masters[@]} - 1))"
    start_master "$2"
    ;;
  stop)
    for f in "$dir"/agent-*.pid "$dir"/master-*.pid; do
      [ -f "$f" ] || continue
      kill "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    done
    ZK_PORT=$zk_port ZK_DIR="$dir/zookeeper" scripts/zookeeper.sh stop || true
    ;;
  *)
    die "usage: $0 start|status|kill|term|restart N|stop"
    ;;
esac
