// Package zookeeper holds what every ZooKeeper user in Agora shares: the
// zk:// URL that the --zk and --master flags take (hosts, a chroot path and
// optional digest credentials, parsed with errors that name what is wrong),
// and Session, a connection to the ensemble with a session timeout (Mesos's
// --zk_session_timeout), digest authentication, the ACL that new znodes get,
// and the session's state (connected, disconnected, expired) as a value that
// callers watch. The election and store/zkstore packages build on it.
package zookeeper
