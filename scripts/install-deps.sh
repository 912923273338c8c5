#!/usr/bin/env bash
# Installs what Agora's tests need from Debian's packages when it is missing:
# ZooKeeper (started by the test harness on a free loopback port), protoc, python3
# (a small HTTP server for tasks in the Marathon readiness test), and python3-marathon
# (a Marathon client library that the Marathon compatibility test drives unchanged), and dig
# (bind9-dnsutils; the DNS integration test queries `agora dns` with it), and haproxy (the LB's
# --haproxy configurations are checked with it and served by it in a test).
# (bind9-dnsutils; the DNS integration test queries `agora dns` with it), and Chromium (the
# web UI's tests drive it headless), and NSD and dnsperf (`make bench` compares agora dns
# with NSD under dnsperf's load).
set -euo pipefail

missing=()
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || missing+=(zookeeper)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v python3 >/dev/null 2>&1 || missing+=(python3)  # HTTP server of the readiness test's tasks
command -v dig >/dev/null 2>&1 || missing+=(bind9-dnsutils)  # the DNS integration test's second resolver
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)  # agora lb --haproxy's configurations
command -v dnsperf >/dev/null 2>&1 || missing+=(dnsperf)  # the load of the DNS benchmark against NSD
command -v nsd >/dev/null 2>&1 || [ -x /usr/sbin/nsd ] || missing+=(nsd)  # the DNS server agora dns is compared with
command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # the web UI's browser tests (integration/browsertest)
# The Marathon client library, for Debian's python3 (/usr/bin/python3).
if ! { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import marathon' >/dev/null 2>&1; }; then
  missing+=(python3-marathon)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "need root to install ${missing[*]} (apt-get); install them and re-run" >&2; exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
