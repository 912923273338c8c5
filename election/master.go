package election

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/zookeeper"
)

// EncodeMasterInfo encodes a MasterInfo as Mesos writes it into its
// json.info_ znodes: JSON with the proto field names ("address",
// "hostname", "id", "ip", "pid", "port", "version").
func EncodeMasterInfo(info *mesos.MasterInfo) ([]byte, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("election: encode MasterInfo: %w", err)
	}
	return b, nil
}

// DecodeMasterInfo decodes a json.info_ znode written by Agora or Mesos
// (fields it does not know are skipped) and checks that it says where the
// master is.
func DecodeMasterInfo(data []byte) (*mesos.MasterInfo, error) {
	info := &mesos.MasterInfo{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, info); err != nil {
		return nil, fmt.Errorf("not a MasterInfo in JSON: %w", err)
	}
	if _, err := MasterAddress(info); err != nil {
		return nil, err
	}
	return info, nil
}

// MasterAddress returns the "host:port" at which a master serves its HTTP
// APIs: address.ip (or address.hostname, or hostname) and address.port
// (or port).
func MasterAddress(info *mesos.MasterInfo) (string, error) {
	host := info.GetAddress().GetIp()
	if host == "" {
		host = info.GetAddress().GetHostname()
	}
	if host == "" {
		host = info.GetHostname()
	}
	if host == "" {
		return "", errors.New("MasterInfo has neither address nor hostname")
	}
	port := int64(info.GetAddress().GetPort())
	if port == 0 {
		port = int64(info.GetPort())
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("MasterInfo has bad port %d", port)
	}
	return net.JoinHostPort(host, strconv.FormatInt(port, 10)), nil
}

// ContendMaster contends in the masters' election (Mesos's layout under
// path) with info as the payload.
func ContendMaster(sess *zookeeper.Session, path string, info *mesos.MasterInfo, log *zap.Logger) (*Contender, error) {
	data, err := EncodeMasterInfo(info)
	if err != nil {
		return nil, err
	}
	return Contend(sess, DefaultConfig(path), data, log)
}

// MasterDetector follows the leading master under path.
type MasterDetector = Detector[*mesos.MasterInfo]

// DetectMaster starts a detector of the leading master under path.
func DetectMaster(sess *zookeeper.Session, path string, log *zap.Logger) (*MasterDetector, error) {
	return NewDetector(sess, DefaultConfig(path), DecodeMasterInfo, log)
}

// LookupMaster reads the leading master under path once (see Lookup).
func LookupMaster(ctx context.Context, sess *zookeeper.Session, path string) (Observation[*mesos.MasterInfo], error) {
	return Lookup(ctx, sess, DefaultConfig(path), DecodeMasterInfo)
}
