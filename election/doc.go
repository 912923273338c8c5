// Package election is leader election and leader detection in ZooKeeper,
// shared by the masters, the agents, the SDK and the frameworks.
//
// Contenders create ephemeral sequential znodes <path>/<prefix><seq> (the
// prefix is "json.info_" by default, as Mesos names its masters' znodes)
// holding their payload; the lowest sequence leads. A Contender reports
// whether it leads as a watched Status whose Term grows with every
// election won, so that a holder who blinked (lost and regained the lead)
// can tell. It stops leading at once when its connection drops or its
// session expires (the ensemble may then elect another), leads again if
// its znode survived a reconnect, and otherwise contends anew with a new
// znode. Withdraw deletes the znode so a standby takes over at once.
//
// A Detector watches the same path and reports the current leader's
// payload, decoded by a caller's function, as it changes; znodes without
// the prefix are ignored, and a leader whose payload does not decode is
// reported as an error, not a crash. The master helpers (MasterInfo as
// Mesos writes it: protobuf JSON with the proto field names) and the
// frameworks' leader latch (path/leader/latch-<seq> holding the instance's
// "host:port") sit on top.
package election
