package cluster

import (
	"testing"

	"github.com/agoracluster/agora/zookeeper/zktest"
)

// StartZooKeeper starts a real ZooKeeper (Debian's package, see zktest) on a free
// loopback port for the test and returns the zk:// URL of path on it ("/agora").
// A missing ZooKeeper skips the test, or fails it in CI.
func StartZooKeeper(t testing.TB, path string) (*zktest.Server, string) {
	t.Helper()
	zk := zktest.Start(t)
	return zk, zk.URL(path)
}
