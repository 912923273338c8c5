package election

import (
	"fmt"
	"net"
	"strconv"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/zookeeper"
)

// LatchPrefix names the znodes of a framework's leader latch.
const LatchPrefix = "latch-"

// LatchConfig is the leader latch of a framework whose znodes live under
// path (Marathon's --zk path, "/marathon"): contenders in path/leader, as
// Marathon keeps them, each holding the "host:port" of its HTTP API.
func LatchConfig(path string) Config { return Config{Path: path + "/leader", Prefix: LatchPrefix} }

// ContendLatch makes a framework instance serving its API at address
// ("host:port") a contender in the leader latch under path.
func ContendLatch(sess *zookeeper.Session, path, address string, log *zap.Logger) (*Contender, error) {
	if _, err := DecodeAddress([]byte(address)); err != nil {
		return nil, fmt.Errorf("election: latch address: %w", err)
	}
	return Contend(sess, LatchConfig(path), []byte(address), log)
}

// DetectLatch follows the leader of the latch under path; its Leader is
// the leading instance's "host:port", for proxying API calls to it.
func DetectLatch(sess *zookeeper.Session, path string, log *zap.Logger) (*Detector[string], error) {
	return NewDetector(sess, LatchConfig(path), DecodeAddress, log)
}

// DecodeAddress decodes a latch payload: "host:port" with a port in
// 1-65535.
func DecodeAddress(data []byte) (string, error) {
	host, port, err := net.SplitHostPort(string(data))
	if err != nil {
		return "", fmt.Errorf("not a host:port: %w", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return "", fmt.Errorf("%q: want host:port with a port in 1-65535", data)
	}
	return string(data), nil
}
