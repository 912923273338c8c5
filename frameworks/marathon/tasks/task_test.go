package tasks

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func withIPs(st *mesos.TaskStatus, ips ...*mesos.NetworkInfo_IPAddress) *mesos.TaskStatus {
	st.ContainerStatus = &mesos.ContainerStatus{NetworkInfos: []*mesos.NetworkInfo{{IpAddresses: ips}}}
	return st
}

func TestIPAddressesOf(t *testing.T) {
	tests := []struct {
		name string
		st   *mesos.TaskStatus
		want string
	}{
		{"none", &mesos.TaskStatus{}, "[]"},
		{"default protocol", withIPs(&mesos.TaskStatus{}, &mesos.NetworkInfo_IPAddress{IpAddress: proto.String("172.17.0.2")}), "[{172.17.0.2 IPv4}]"},
		{"both", withIPs(&mesos.TaskStatus{},
			&mesos.NetworkInfo_IPAddress{IpAddress: proto.String("10.0.0.1"), Protocol: mesos.NetworkInfo_IPv4.Enum()},
			&mesos.NetworkInfo_IPAddress{IpAddress: proto.String("fd00::1"), Protocol: mesos.NetworkInfo_IPv6.Enum()},
			&mesos.NetworkInfo_IPAddress{}), "[{10.0.0.1 IPv4} {fd00::1 IPv6}]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(IPAddressesOf(tc.st)); got != tc.want {
				t.Errorf("IPAddressesOf = %s, want %s", got, tc.want)
			}
		})
	}
}
