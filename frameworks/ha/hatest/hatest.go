// Package hatest helps the frameworks' tests run several instances against a real
// ZooKeeper (zookeeper/zktest): a node in the leader latch, HTTP calls, polls.
package hatest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/ha"
	"github.com/agoracluster/agora/zookeeper"
)

// SessionTimeout is the ZooKeeper session timeout of the nodes OpenNode opens.
const SessionTimeout = 2 * time.Second

// OpenNode joins the latch under zkURL as the instance at address; the node is closed
// when the test ends (after cleanups registered later, such as the instance's own).
func OpenNode(t testing.TB, zkURL, address string, log *zap.Logger) *ha.Node {
	t.Helper()
	u, err := zookeeper.ParseURL(zkURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ha.DefaultConfig()
	cfg.ZK, cfg.SessionTimeout, cfg.Address, cfg.RetryDelay = u, SessionTimeout, address, 50*time.Millisecond
	n, err := ha.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// Call sends a JSON request and returns the answer with its body read.
func Call(t testing.TB, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
