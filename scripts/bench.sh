#!/usr/bin/env bash
# bench.sh runs Agora's benchmarks and prints ONE table of the figures (name, value, unit,
# goal), also written to .work/bench/latest.txt (and as JSON to .work/bench/results.json). Speed and memory are measured here, never
# asserted in tests. `make bench` runs it after `make build` with AGORA_BIN set.
#
#   end to end (integration/bench_test.go, real `agora master` + `agora agent` processes):
#     BenchmarkLaunchKill       N plain `sleep` tasks on one agent: ACCEPT -> all TASK_RUNNING,
#                               KILL -> all TASK_KILLED, and the CPU each part used
#     BenchmarkOfferToRunning   offer -> ACCEPT -> TASK_RUNNING of one task, p50/p99
#     BenchmarkMemoryPerTask    RSS/PSS of executor + task + agent growth, per running task
#     Benchmark*Secure          the first two with mutual TLS on every hop and every caller
#                               authenticated, and their ratio to the plain run (goal <= 1.10)
#   containers (integration/bench_containers_test.go, real processes and Docker Engine):
#     BenchmarkDockerVsSwarm    N DOCKER tasks on one agent (ACCEPT -> all TASK_RUNNING, KILL ->
#                               all TASK_KILLED and all containers removed) side by side with
#                               `docker service create --replicas N` on a single-node swarm of
#                               the same engine and image (a loopback swarm it creates and
#                               leaves, or the engine's own); skipped without an engine
#     BenchmarkLaunchCgroups    BENCH_TASKS sleep tasks, each in a cgroup with CPU and memory limits
#   Marathon at scale (integration/bench_marathon_test.go, real `agora master` and
#   `agora marathon` processes, simulated agents from integration/simagent in the test):
#     BenchmarkMarathonDeploy   one app of N instances: POST -> all TASK_RUNNING, DELETE -> all killed
#     BenchmarkMarathonListApps GET /v2/apps?embed=apps.tasks with A apps x T tasks, p50/p99
#   batch at scale (integration/bench_batch_test.go, real `agora master` and `agora batch`,
#   simulated agents whose tasks finish after 100ms):
#     BenchmarkBatchJobs        J jobs x T tasks started at once: submission -> every run SUCCESS
#   high availability (integration/bench_ha_test.go, 3 real masters in a real ZooKeeper):
#     BenchmarkHAFailover       SIGKILL, then SIGTERM, of the leading master (4s ZooKeeper
#                               sessions): time until another master serves scheduler calls
#     TestHAFaultCampaign       BENCH_FAULT_ROUNDS random faults (default 30) with invariants
#     BenchmarkHAReregistration BENCH_HA_AGENTS simulated agents (default 10000) follow the
#                               masters; SIGTERM of the leader -> every agent re-registered
#   allocator (master/allocator):
#     BenchmarkAllocate         one allocation cycle by cluster size
#     BenchmarkAllocateMixed    one cycle with weights, reservations, hierarchical roles and quota
#   DNS (discovery/dns, `agora dns`'s server in the test process, GOMAXPROCS 1):
#     BenchmarkServeUDP         queries/s over loopback UDP, zone of 10,000 tasks (client on the same core)
#     BenchmarkDNSvsNSD         queries/s of the server alone on one core (CPU 0; dnsperf on the
#                               others), agora dns side by side with Debian's NSD serving the
#                               same zone of 10,000 tasks (skipped without nsd and dnsperf)
#     BenchmarkRecords          computing the zone of a /state snapshot, 1,000 and 10,000 tasks
#   web UI (integration/bench_webui_test.go, the UI in headless Chromium, a synthetic state):
#     BenchmarkWebUI            1,000 and 10,000 agents with 10 tasks each: the tasks view's
#                               load (SUBSCRIBED transferred, parsed, first page drawn), redraw
#                               after a change and filter over every task
#   DNS end to end (integration/bench_dns_test.go, real master, agent and `agora dns`):
#     BenchmarkDNSUpdateAfterRunning  TASK_RUNNING -> the task's A record served (the records
#                               follow the operator SUBSCRIBE stream), p50/p99 of BENCH_DNS_TASKS
#   LB (discovery/lb, `agora lb`'s proxy in the test process, Debian's haproxy as a process):
#     BenchmarkLBvsHAProxy      small HTTP requests through a virtual host and a service port,
#                               agora lb and HAProxy side by side on one backend: requests/s
#                               and p99 added latency (skipped without haproxy)
#   LB end to end (integration/bench_lb_test.go, real master, agent, Marathon and `agora lb`):
#     BenchmarkLBRouteAfterRunning  TASK_RUNNING -> the task is a backend of the LB, p50/p99 of
#                               BENCH_LB_TASKS
#
# Environment:
#   AGORA_BIN         the agora binary (required; make bench sets it)
#   BENCH_TASKS       tasks launched at once (default 1000)
#   BENCH_ROUNDTRIPS  sequential single-task launches (default 200)
#   BENCH_MEMTASKS    running tasks measured for memory (default 200)
#   BENCH_TMPDIR      where the clusters' work dirs (sandboxes, checkpoints) go; default
#                     .work/bench/tmp on the repository's disk, as an agent's work dir would be
#   BENCH_PROFILE=1   afterwards, run the launch benchmark again with the master and agent
#                     inside the test process and write a CPU profile to .work/bench/
#   BENCH_ALLOC_TIME  -benchtime of the allocator benchmark (default 300ms)
#   BENCH_DOCKER_TASKS  containers launched at once by BenchmarkDockerVsSwarm (default 100)
#   BENCH_MARATHON_INSTANCES  instances of the one app (default 10000)
#   BENCH_MARATHON_AGENTS     simulated agents (default 200)
#   BENCH_MARATHON_APPS       apps listed (default 1000), each of BENCH_MARATHON_APPTASKS (default 10)
#   BENCH_BATCH_JOBS  jobs of BenchmarkBatchJobs (default 100), each one run of
#   BENCH_BATCH_TASKS tasks (default 1000) on BENCH_BATCH_AGENTS simulated agents (default 200)
#   BENCH_SIM_AGENTS simulated agents (default 5000; the issue's figure: 50000) registered with
#   one master, then BENCH_SIM_TASKS tasks on each (default 10) (BenchmarkSimulatedAgents)
#   BENCH_DNS_TASKS   tasks launched one after another by BenchmarkDNSUpdateAfterRunning (default 50)
#   BENCH_LB_REQUESTS requests per target of BenchmarkLBvsHAProxy (default 20000)
#   BENCH_LB_TASKS    tasks started one after another by BenchmarkLBRouteAfterRunning (default 20)
#   BENCH_PROFILE=1   also profiles the Marathon deploy with master and Marathon in process
#   AGORA_CPUPROFILE=DIR  every agora process (master, batch, ...) writes a CPU profile of its
#                     run to DIR/<command>-<pid>.prof: profiles of the real processes
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

: "${AGORA_BIN:?set AGORA_BIN to the agora binary (make bench does)}"
[[ -x "$AGORA_BIN" ]] || { echo "bench: AGORA_BIN=$AGORA_BIN is not executable" >&2; exit 1; }
export AGORA_BIN

tasks=${BENCH_TASKS:-1000}
roundtrips=${BENCH_ROUNDTRIPS:-200}
memtasks=${BENCH_MEMTASKS:-200}
alloc_time=${BENCH_ALLOC_TIME:-300ms}
docker_tasks=${BENCH_DOCKER_TASKS:-100}
m_instances=${BENCH_MARATHON_INSTANCES:-10000}
m_agents=${BENCH_MARATHON_AGENTS:-200}
m_apps=${BENCH_MARATHON_APPS:-1000}
m_apptasks=${BENCH_MARATHON_APPTASKS:-10}
b_jobs=${BENCH_BATCH_JOBS:-100}
b_tasks=${BENCH_BATCH_TASKS:-1000}
b_agents=${BENCH_BATCH_AGENTS:-200}
sim_agents=${BENCH_SIM_AGENTS:-5000}
sim_tasks=${BENCH_SIM_TASKS:-10}
out=$root/.work/bench
mkdir -p "$out"
tmp=${BENCH_TMPDIR:-$out/tmp}
mkdir -p "$tmp"
# On ext4, mark the directory as the top of directory hierarchies (chattr +T): each cluster's
# work dir then goes to a block group of its own. Without it every run allocates its inodes
# where the last run freed thousands, and ext4 without a journal skips inodes freed in the
# last minutes one by one (recently_deleted), which made runs minutes apart differ by 2x.
chattr +T "$tmp" 2>/dev/null || true
export TMPDIR=$tmp

# --- limits -------------------------------------------------------------------------------
# Every task is its own process plus an executor (goroutines in the executor host, or with
# --executor_host=false a Go process with several threads); the agent holds connections per
# executor. Raise what can be raised and say so
# clearly when something cannot be.
need_fds=$((tasks * 4 + 1024))
hard_fds=$(ulimit -Hn)
if [[ $hard_fds != unlimited && $hard_fds -lt $need_fds ]]; then
	ulimit -Hn "$need_fds" 2>/dev/null || echo "bench: warning: open files hard limit $hard_fds < $need_fds needed for $tasks tasks" >&2
fi
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
need_procs=$((tasks * 12 + 2048))
soft_procs=$(ulimit -Su)
if [[ $soft_procs != unlimited && $soft_procs -lt $need_procs ]]; then
	ulimit -Su "$need_procs" 2>/dev/null || ulimit -Su "$(ulimit -Hu)" 2>/dev/null ||
		echo "bench: warning: max user processes $soft_procs < $need_procs needed for $tasks tasks" >&2
fi
for knob in pid_max threads-max; do
	f=/proc/sys/kernel/$knob
	[[ -r $f ]] || continue
	have=$(cat "$f")
	if ((have < need_procs)); then
		if [[ -w $f ]] && echo "$need_procs" >"$f" 2>/dev/null; then
			echo "bench: raised kernel.$knob from $have to $need_procs" >&2
		else
			echo "bench: warning: kernel.$knob is $have < $need_procs needed for $tasks tasks" >&2
		fi
	fi
done

# --- run ------------------------------------------------------------------------------------
status=0
failures=()
echo "bench: end-to-end benchmarks ($tasks tasks, $roundtrips round trips, $memtasks for memory; work dirs in $tmp)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 15m -benchtime 1x \
	-bench '^(BenchmarkLaunchKill|BenchmarkOfferToRunning|BenchmarkLaunchKillSecure|BenchmarkOfferToRunningSecure|BenchmarkMemoryPerTask)$' \
	-args -agora.tasks="$tasks" -agora.roundtrips="$roundtrips" -agora.memtasks="$memtasks" \
	-agora.logs="$out" >"$out/integration.txt" 2>&1; then
	status=1
	failures+=("end-to-end benchmarks failed: see $out/integration.txt (last lines below)")
fi
echo "bench: Marathon at scale ($m_instances instances, $m_apps apps x $m_apptasks tasks, $m_agents simulated agents)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 15m -benchtime 1x \
	-bench '^(BenchmarkMarathonDeploy|BenchmarkMarathonListApps)$' \
	-args -agora.marathon.instances="$m_instances" -agora.marathon.agents="$m_agents" \
	-agora.marathon.apps="$m_apps" -agora.marathon.apptasks="$m_apptasks" >"$out/marathon.txt" 2>&1; then
	status=1
	failures+=("Marathon benchmarks failed: see $out/marathon.txt")
fi
echo "bench: batch at scale ($b_jobs jobs x $b_tasks tasks, $b_agents simulated agents)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 15m -benchtime 1x \
	-bench '^BenchmarkBatchJobs$' \
	-args -agora.batch.jobs="$b_jobs" -agora.batch.tasks="$b_tasks" -agora.batch.agents="$b_agents" \
	-agora.loglevel=warn >"$out/batch.txt" 2>&1; then
	status=1
	failures+=("batch benchmark failed: see $out/batch.txt")
fi
echo "bench: master at scale ($sim_agents simulated agents x $sim_tasks tasks)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 30m -benchtime 1x \
	-bench '^BenchmarkSimulatedAgents$' \
	-args -agora.sim.agents="$sim_agents" -agora.sim.tasks="$sim_tasks" >"$out/scale.txt" 2>&1; then
	status=1
	failures+=("scale benchmark failed: see $out/scale.txt")
fi
echo "bench: containers ($docker_tasks Docker containers vs a swarm service, $tasks tasks in cgroups)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 15m -benchtime 1x \
	-bench '^(BenchmarkDockerVsSwarm|BenchmarkLaunchCgroups)$' \
	-args -agora.tasks="$tasks" -agora.dockertasks="$docker_tasks" -agora.logs="$out" >"$out/containers.txt" 2>&1; then
	status=1
	failures+=("container benchmarks failed: see $out/containers.txt")
fi
cat "$out/containers.txt" >>"$out/integration.txt" # one table from the end-to-end figures
echo "bench: master failover (3 masters in ZooKeeper)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 15m -benchtime 1x \
	-bench '^(BenchmarkHAFailover|BenchmarkHAReregistration)$' -args -agora.ha.agents="${BENCH_HA_AGENTS:-10000}" >"$out/ha.txt" 2>&1; then
	status=1
	failures+=("failover benchmark failed: see $out/ha.txt")
fi
fault_rounds=${BENCH_FAULT_ROUNDS:-30}
echo "bench: HA fault campaign ($fault_rounds random faults)" >&2
if go test ./integration/ -run '^TestHAFaultCampaign$' -count 1 -timeout 30m -v \
	-args -agora.fault.rounds="$fault_rounds" >"$out/faults.txt" 2>&1; then
	echo "FAULTS-PASSED: $fault_rounds" >>"$out/ha.txt"
else
	status=1
	failures+=("HA fault campaign failed: see $out/faults.txt (its seed replays it)")
fi
echo "bench: allocator benchmark (-benchtime $alloc_time)" >&2
if ! go test ./master/allocator/ -run '^$' -count 1 -benchtime "$alloc_time" \
	-bench '^BenchmarkAllocate(Mixed)?$' >"$out/allocator.txt" 2>&1; then
	status=1
	failures+=("allocator benchmark failed: see $out/allocator.txt")
fi
echo "bench: DNS benchmarks (one core)" >&2
if ! go test ./discovery/dns/ -run '^$' -count 1 -cpu 1 -benchtime 3s \
	-bench '^(BenchmarkServeUDP|BenchmarkRecords)$' >"$out/dns.txt" 2>&1; then
	status=1
	failures+=("DNS benchmark failed: see $out/dns.txt")
fi
echo "bench: DNS queries/s on one core, agora dns and NSD side by side" >&2
if ! go test ./discovery/dns/ -run '^$' -count 1 -benchtime 1x \
	-bench '^BenchmarkDNSvsNSD$' >"$out/dns-nsd.txt" 2>&1; then
	status=1
	failures+=("DNS vs NSD benchmark failed: see $out/dns-nsd.txt")
fi
echo "bench: DNS record update after TASK_RUNNING (${BENCH_DNS_TASKS:-50} tasks)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 10m -benchtime 1x \
	-bench '^BenchmarkDNSUpdateAfterRunning$' -args -agora.dnstasks="${BENCH_DNS_TASKS:-50}" >"$out/dns-update.txt" 2>&1; then
	status=1
	failures+=("DNS update benchmark failed: see $out/dns-update.txt")
fi
echo "bench: LB throughput and added latency, side by side with HAProxy" >&2
if ! go test ./discovery/lb/ -run '^$' -count 1 -benchtime 1x \
	-bench '^BenchmarkLBvsHAProxy$' -args -lb.requests="${BENCH_LB_REQUESTS:-20000}" >"$out/lb.txt" 2>&1; then
	status=1
	failures+=("LB benchmark failed: see $out/lb.txt")
fi
echo "bench: LB route after TASK_RUNNING (${BENCH_LB_TASKS:-20} tasks)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 10m -benchtime 1x \
	-bench '^BenchmarkLBRouteAfterRunning$' -args -agora.lbtasks="${BENCH_LB_TASKS:-20}" >"$out/lb-route.txt" 2>&1; then
	status=1
	failures+=("LB route benchmark failed: see $out/lb-route.txt")
fi

echo "bench: web UI in headless Chromium (10,000 agents, 100,000 tasks)" >&2
if ! go test ./integration/ -run '^$' -count 1 -timeout 15m -benchtime 3x \
	-bench '^BenchmarkWebUI$' >"$out/webui.txt" 2>&1; then
	status=1
	failures+=("web UI benchmark failed: see $out/webui.txt")
fi

if [[ ${BENCH_PROFILE:-} == 1 ]]; then
	echo "bench: profiling the launch benchmark with the master and agent in process" >&2
	go test -tags inprocess ./integration/ -run '^$' -count 1 -timeout 15m -benchtime 1x \
		-bench '^BenchmarkLaunchKill$' -cpuprofile "$out/cpu.prof" -o "$out/integration.test" \
		-args -agora.tasks="$tasks" -agora.inprocess >"$out/profile.txt" 2>&1 ||
		failures+=("profiling run failed: see $out/profile.txt")
	echo "bench: profiling the Marathon deploy with the master and Marathon in process" >&2
	go test -tags inprocess ./integration/ -run '^$' -count 1 -timeout 15m -benchtime 1x \
		-bench '^BenchmarkMarathonDeploy$' -cpuprofile "$out/marathon-cpu.prof" -o "$out/integration-inprocess.test" \
		-args -agora.inprocess -agora.marathon.instances="$m_instances" -agora.marathon.agents="$m_agents" \
		>"$out/marathon-profile.txt" 2>&1 || failures+=("Marathon profiling run failed: see $out/marathon-profile.txt")
fi

# --- table ----------------------------------------------------------------------------------
# Benchmark lines look like "BenchmarkName/sub-2  1  12.5 unit  3.0 unit ...".
table=$(cat "$out/integration.txt" "$out/marathon.txt" "$out/batch.txt" "$out/ha.txt" "$out/allocator.txt" "$out/dns.txt" "$out/dns-nsd.txt" "$out/dns-update.txt" "$out/lb.txt" "$out/lb-route.txt" "$out/webui.txt" "$out/scale.txt" 2>/dev/null | awk -v tasks="$tasks" -v rts="$roundtrips" -v mem="$memtasks" \
	-v minst="$m_instances" -v magents="$m_agents" -v mapps="$m_apps" -v mapptasks="$m_apptasks" '
function row(name, value, unit, goal, cmp, limit,   verdict) {
	verdict = "-"
	if (cmp == "le") verdict = (value + 0 <= limit) ? "met" : "MISSED"
	if (cmp == "ge") verdict = (value + 0 >= limit) ? "met" : "MISSED"
	printf "%s\t%s\t%s\t%s\t%s\n", name, value, unit, goal, verdict
}
function fmt(v) { return (v >= 100) ? sprintf("%.0f", v) : (v >= 10) ? sprintf("%.1f", v) : sprintf("%.3g", v) }
/FAULTS-PASSED:/ {
	row("HA fault campaign: random faults survived (every invariant held)", $2, "rounds", "-")
}
/SWARM-REFUSED:/ {
	reason = substr($0, index($0, "SWARM-REFUSED:") + 15)
	row("  swarm mode refused by the engine: " reason, "-", "-", "-")
}
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	delete m
	for (i = 3; i < NF; i += 2) m[$(i+1)] = $i
	if (name == "BenchmarkLaunchKillSecure") {
		row(tasks " sleep tasks, mutual TLS + authentication: ACCEPT -> all TASK_RUNNING", fmt(m["running-s"]), "s", "-")
		if (plainRunning > 0)
			row("  secure / plain launch time (same run)", fmt(m["running-s"] / plainRunning), "x", "<= 1.10", "le", 1.10)
	} else if (name == "BenchmarkOfferToRunningSecure") {
		row("offer -> TASK_RUNNING, mutual TLS + authentication, p50", fmt(m["p50-ms"]), "ms", "-")
		if (plainP50 > 0)
			row("  secure / plain round trip p50 (same run)", fmt(m["p50-ms"] / plainP50), "x", "<= 1.10", "le", 1.10)
	} else if (name == "BenchmarkLaunchKill") {
		plainRunning = m["running-s"]
		row(tasks " sleep tasks: ACCEPT -> all TASK_RUNNING", fmt(m["running-s"]), "s", "<= 3 s", "le", 3)
		row(tasks " sleep tasks: KILL -> all TASK_KILLED", fmt(m["killed-s"]), "s", "<= 2 s", "le", 2)
		row(tasks " sleep tasks: ACCEPT -> all TASK_STARTING", fmt(m["starting-s"]), "s", "-")
		row(tasks " sleep tasks: launch rate", fmt(m["launched-tasks/s"]), "tasks/s", "-")
		if ("launch-agent-cpu-s" in m) {
			row("  CPU during the launch: agent", fmt(m["launch-agent-cpu-s"] * 1000 / tasks), "ms/task", "-")
			row("  CPU during the launch: executor host + tasks", fmt(m["launch-executors-cpu-s"] * 1000 / tasks), "ms/task", "-")
			row("  CPU during the launch: master", fmt(m["launch-master-cpu-s"] * 1000 / tasks), "ms/task", "-")
		}
		row("  CPU during the launch: scheduler (bench)", fmt(m["launch-scheduler-cpu-s"] * 1000 / tasks), "ms/task", "-")
		other = m["launch-machine-cpu-s"] - m["launch-agent-cpu-s"] - m["launch-executors-cpu-s"] - m["launch-master-cpu-s"] - m["launch-scheduler-cpu-s"]
		row("  CPU during the launch: rest of the machine", fmt(other), "s", "-")
		row("  CPU available during the launch", fmt(m["cpus"] * m["running-s"]), "s", "-")
	} else if (name == "BenchmarkOfferToRunning") {
		plainP50 = m["p50-ms"]
		row("offer -> TASK_RUNNING, one task, p50 (" rts " launches)", fmt(m["p50-ms"]), "ms", "<= 5 ms", "le", 5)
		row("offer -> TASK_RUNNING, one task, p99", fmt(m["p99-ms"]), "ms", "<= 50 ms", "le", 50)
		row("offer -> TASK_RUNNING, one task, max", fmt(m["max-ms"]), "ms", "-")
		row("offer -> TASK_STARTING, one task, p50", fmt(m["starting-p50-ms"]), "ms", "-")
	} else if (name == "BenchmarkSimulatedAgents") {
		at50k = (m["agents"] == 50000)
		row(m["agents"] " simulated agents: all registered", fmt(m["registered-s"]), "s", at50k ? "<= 30 s" : "- (goal at 50000: <= 30 s)", at50k ? "le" : "", 30)
		row("  master RSS with them", fmt(m["master-rss-MiB"]), "MiB", at50k ? "<= 1536 MiB" : "-", at50k ? "le" : "", 1536)
		row("  master memory per agent", fmt(m["master-KiB/agent"]), "KiB", "-")
		if ("tasks" in m) {
			row("  " m["tasks"] " tasks on them: ACCEPT -> all TASK_RUNNING", fmt(m["tasks-running-s"]), "s", "-")
			row("  launch rate", fmt(m["tasks/s"]), "tasks/s", "-")
			row("  master RSS with the tasks", fmt(m["master-rss-tasks-MiB"]), "MiB", "-")
		}
	} else if (name == "BenchmarkMemoryPerTask") {
		row("memory per running task, PSS (" mem " tasks)", fmt(m["pss-KiB/task"] / 1024), "MiB", "-")
		row("memory per running task, RSS", fmt(m["rss-KiB/task"] / 1024), "MiB", "-")
		row("  executor host PSS / RSS, shared out", fmt(m["executor-pss-KiB/task"] / 1024) " / " fmt(m["executor-rss-KiB/task"] / 1024), "MiB", "-")
		row("  task (sleep) RSS", fmt(m["sleep-rss-KiB/task"] / 1024), "MiB", "-")
		row("  agent growth", fmt(m["agent-growth-KiB/task"]), "KiB", "-")
	} else if (name == "BenchmarkMarathonDeploy") {
		row("Marathon: 1 app x " minst " instances, POST -> all TASK_RUNNING (" magents " sim agents)", fmt(m["running-s"]), "s", "<= 10 s", "le", 10)
		row("Marathon: launch rate", fmt(m["tasks/s"]), "tasks/s", ">= 1000", "ge", 1000)
		row("Marathon: DELETE -> all " minst " TASK_KILLED", fmt(m["killed-s"]), "s", "-")
	} else if (name == "BenchmarkMarathonListApps") {
		row("Marathon: GET /v2/apps?embed=apps.tasks, " mapps " apps x " mapptasks " tasks, p50", fmt(m["p50-ms"]), "ms", "-")
		row("Marathon: GET /v2/apps?embed=apps.tasks, p99", fmt(m["p99-ms"]), "ms", "<= 100 ms", "le", 100)
		row("Marathon: GET /v2/apps?embed=apps.tasks, max", fmt(m["max-ms"]), "ms", "-")
		row("Marathon: GET /v2/apps?embed=apps.tasks, first request (nothing rendered yet)", fmt(m["first-ms"]), "ms", "-")
		row("Marathon: GET /v2/apps?embed=apps.tasks, response size", fmt(m["MiB"]), "MiB", "-")
		row("Marathon: " mapps " apps created -> all " mapps * mapptasks " tasks running", fmt(m["setup-s"]), "s", "-")
	} else if (name ~ /^BenchmarkWebUI\//) {
		size = name; sub(/^BenchmarkWebUI\//, "", size); gsub(/[=\/]/, " ", size)
		row("web UI (" size "): tasks view redrawn after a change", fmt(m["render-ms"]), "ms", "<= 1000 ms", "le", 1000)
		row("  web UI: filter over every task", fmt(m["filter-ms"]), "ms", "-")
		row("  web UI: agents view / overview redrawn after a change", fmt(m["agents-render-ms"]) " / " fmt(m["overview-render-ms"]), "ms", "<= 1000 ms")
		row("  web UI: open the tasks view (" fmt(m["state-MiB"]) " MiB SUBSCRIBED: transfer, parse, first page)", fmt(m["load-ms"]), "ms", "-")
		row("    of which SUBSCRIBED received / JSON.parse / folded into the state", fmt(m["received-ms"]) " / " fmt(m["parse-ms"]) " / " fmt(m["apply-ms"]), "ms", "-")
	} else if (name == "BenchmarkBatchJobs") {
		row("batch: " m["tasks"] " tasks (" m["jobs"] " jobs), submission -> all runs SUCCESS", fmt(m["finished-s"]), "s", "-")
		row("batch: sustained rate", fmt(m["tasks/s"]), "tasks/s", ">= 3750", "ge", 3750)
		row("  CPU: master", fmt(m["master-cpu-ms/task"]), "ms/task", "-")
		row("  CPU: batch", fmt(m["batch-cpu-ms/task"]), "ms/task", "-")
		row("  batch's CPU / master's CPU", fmt(m["batch/master-cpu"]), "ratio", "-")
		row("  sustained rate per core (master, batch and agents share them)", fmt(m["tasks/s/core"]), "tasks/s", "-")
	} else if (name == "BenchmarkDockerVsSwarm") {
		n = m["containers"] + 0; ok = m["swarm-ok"] + 0
		if (ok) {
			row(n " DOCKER tasks: ACCEPT -> all TASK_RUNNING", fmt(m["agora-running-s"]), "s", "< swarm", "le", m["swarm-running-s"])
			row("  swarm: service create --replicas " n " -> all running", fmt(m["swarm-running-s"]), "s", "-")
		} else {
			row(n " DOCKER tasks: ACCEPT -> all TASK_RUNNING", fmt(m["agora-running-s"]), "s", "< swarm (swarm refused)")
		}
		row(n " DOCKER tasks: KILL -> all TASK_KILLED", fmt(m["agora-killed-s"]), "s", "-")
		if (ok) {
			row(n " DOCKER tasks: KILL -> all containers removed", fmt(m["agora-gone-s"]), "s", "< swarm", "le", m["swarm-gone-s"])
			row("  swarm: service rm -> all containers removed", fmt(m["swarm-gone-s"]), "s", "-")
		} else {
			row(n " DOCKER tasks: KILL -> all containers removed", fmt(m["agora-gone-s"]), "s", "< swarm (swarm refused)")
		}
	} else if (name == "BenchmarkLaunchCgroups") {
		row(m["tasks"] + 0 " sleep tasks in cgroups (cpu+mem limits): ACCEPT -> all TASK_RUNNING", fmt(m["running-s"]), "s", "<= 3 s", "le", 3)
		row(m["tasks"] + 0 " sleep tasks in cgroups: KILL -> all TASK_KILLED", fmt(m["killed-s"]), "s", "-")
	} else if (name == "BenchmarkHAReregistration") {
		row("failover: SIGTERM of the leader -> all " m["agents"] " simulated agents re-registered", fmt(m["reregistered-s"]), "s", m["agents"] == 10000 ? "<= 5 s" : "-", m["agents"] == 10000 ? "le" : "", 5)
	} else if (name == "BenchmarkHAFailover") {
		row("failover: SIGKILL of the leading master -> a new leader serves scheduler calls (" fmt(m["session-s"]) " s session)", fmt(m["sigkill-s"]), "s", "<= 5 s", "le", 5)
		row("failover: SIGTERM of the leading master -> a new leader serves scheduler calls", fmt(m["sigterm-s"]), "s", "<= 1 s", "le", 1)
	} else if (name ~ /^BenchmarkAllocate\//) {
		sub(/^BenchmarkAllocate\//, "", name)
		row("allocation cycle " name, fmt(m["ns/op"] / 1e6), "ms", "-")
	} else if (name ~ /^BenchmarkAllocateMixed\/.*quota/) {
		sub(/^BenchmarkAllocateMixed\//, "", name)
		goal = (name ~ /agents=10000\/frameworks=1000/) ? 100 : (name ~ /agents=20000\/frameworks=2000/) ? 400 : 500
		row("allocation cycle " name, fmt(m["ns/op"] / 1e6), "ms", "<= " goal " ms", "le", goal)
	} else if (name ~ /^BenchmarkAllocateMixed\//) {
		sub(/^BenchmarkAllocateMixed\//, "", name)
		row("allocation cycle " name, fmt(m["ns/op"] / 1e6), "ms", "-")
	} else if (name == "BenchmarkDNSUpdateAfterRunning") {
		row("DNS: TASK_RUNNING -> A record served, p50", fmt(m["p50-ms"]), "ms", "<= 100 ms", "le", 100)
		row("DNS: TASK_RUNNING -> A record served, p99", fmt(m["p99-ms"]), "ms", "<= 100 ms", "le", 100)
	} else if (name == "BenchmarkServeUDP") {
		row("DNS: queries/s, 10,000 tasks, loopback UDP, server and client on one core", fmt(m["qps"]), "qps", "-")
	} else if (name == "BenchmarkDNSvsNSD") {
		row("DNS: queries/s on one core, 10,000 tasks, agora dns (dnsperf on the other cores)", fmt(m["agora-qps"]), "qps", ">= 100000", "ge", 100000)
		row("DNS: queries/s on one core, same zone, NSD (same run)", fmt(m["nsd-qps"]), "qps", "-")
		row("DNS: agora dns / NSD queries/s (same run)", fmt(m["agora/nsd"]), "ratio", "-")
	} else if (name ~ /^BenchmarkRecords\//) {
		sub(/^BenchmarkRecords\//, "", name)
		row("DNS: zone from a /state snapshot, " name, fmt(m["ns/op"] / 1e6), "ms", "-")
	} else if (name == "BenchmarkLBvsHAProxy") {
		row("LB: HTTP requests/s through a virtual host, agora lb", fmt(m["agora-vhost-req/s"]), "req/s", "-")
		row("LB: HTTP requests/s through a virtual host, HAProxy (same run, same backend)", fmt(m["haproxy-vhost-req/s"]), "req/s", "-")
		row("LB: agora / HAProxy requests/s, virtual host", fmt(m["agora-vhost-req/s"] / m["haproxy-vhost-req/s"]), "ratio", ">= 0.67 (within 1.5x)", "ge", 0.667)
		row("LB: agora / HAProxy requests/s, service port (TCP)", fmt(m["agora-tcp-req/s"] / m["haproxy-tcp-req/s"]), "ratio", ">= 0.67 (within 1.5x)", "ge", 0.667)
		row("LB: p99 added latency, agora lb virtual host", fmt(m["agora-vhost-p99-added-us"] / 1000), "ms", "<= 1 ms", "le", 1)
		row("LB: p99 added latency, agora lb service port", fmt(m["agora-tcp-p99-added-us"] / 1000), "ms", "<= 1 ms", "le", 1)
		row("LB: p99 added latency, HAProxy virtual host", fmt(m["haproxy-vhost-p99-added-us"] / 1000), "ms", "-")
	} else if (name == "BenchmarkLBRouteAfterRunning") {
		row("LB: TASK_RUNNING -> backend routed, p50", fmt(m["p50-ms"]), "ms", "<= 200 ms", "le", 200)
		row("LB: TASK_RUNNING -> backend routed, p99", fmt(m["p99-ms"]), "ms", "<= 200 ms", "le", 200)
	}
}')

{
	echo "Agora benchmarks  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(git describe --always --dirty 2>/dev/null || echo unknown)  $(nproc) CPUs  TMPDIR=$tmp"
	echo
	printf 'figure\tvalue\tunit\tgoal\tverdict\n%s\n' "$table" | column -t -s $'\t'
	for f in "${failures[@]}"; do
		echo
		echo "FAILED: $f"
	done
} | tee "$out/latest.txt"
# The same figures as JSON, for tools: one object per row.
printf '%s\n' "$table" | awk -F '\t' -v when="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -v rev="$(git describe --always --dirty 2>/dev/null || echo unknown)" '
function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
BEGIN { printf "{\"time\": %s, \"revision\": %s, \"rows\": [", q(when), q(rev) }
NF >= 5 { printf "%s\n  {\"figure\": %s, \"value\": %s, \"unit\": %s, \"goal\": %s, \"verdict\": %s}", (n++ ? "," : ""), q($1), q($2), q($3), q($4), q($5) }
END { print "\n]}" }' >"$out/results.json"
if ((status != 0)); then
	echo >&2
	tail -n 40 "$out/integration.txt" >&2 || true
fi
exit "$status"
