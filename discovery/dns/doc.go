// Package dns is Agora's built-in service discovery: an authoritative DNS server for the
// cluster's domain (default "mesos.") with Mesos-DNS's naming, and Mesos-DNS's HTTP API.
//
// The pipeline has three parts. A Source yields State snapshots: the Subscriber (what `agora
// dns` runs) reads the leading master's /state on every (re)connection, then follows the
// master's operator API SUBSCRIBE stream, so a task's records appear as soon as the master
// hears TASK_RUNNING; the Poller reads /state every Config.Refresh (and at once when
// ZooKeeper names a new leader), and the Subscriber falls back to it for a master without
// the operator API. Records, a pure function, turns a
// snapshot into a Zone: every running (and not unhealthy) task's A records under
// task.framework.domain and task.framework.slave.domain, its SRV records under
// _task._tcp.framework.domain and _task._udp.framework.domain, and leader, master, slave and
// agent names. The Server swaps the Zone in atomically, so queries never take a lock; it
// answers over UDP (truncated with the TC bit past 512 bytes or the client's EDNS0 size) and
// TCP, forwards names outside the domain to Config.Resolvers or refuses them, and serves
// /v1/version, /v1/config, /v1/hosts/{host} and /v1/services/{service}.
package dns
