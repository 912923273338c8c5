package marathon

import (
	"github.com/agoracluster/agora/frameworks/marathon/events"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// ipAddressesOf lists the addresses a status reports for its task's container
// (container_status.network_infos[].ip_addresses), as Marathon renders them in a task's
// ipAddresses; nil when the status reports none.
func ipAddressesOf(st *mesos.TaskStatus) []ipJSON {
	var out []ipJSON
	for _, ni := range st.GetContainerStatus().GetNetworkInfos() {
		for _, ip := range ni.GetIpAddresses() {
			if ip.GetIpAddress() == "" {
				continue
			}
			out = append(out, ipJSON{IPAddress: ip.GetIpAddress(), Protocol: ip.GetProtocol().String()})
		}
	}
	return out
}

// recordIPs keeps the addresses st reports for t; a status without any keeps the ones
// known (Mesos reports them with TASK_RUNNING, later updates may leave them out).
func recordIPs(t *task, st *mesos.TaskStatus) {
	if ips := ipAddressesOf(st); ips != nil {
		t.IPAddresses = ips
	}
}

// eventIPs is t's addresses for status_update_event.
func eventIPs(t *task) []events.IPAddress {
	out := make([]events.IPAddress, 0, len(t.IPAddresses))
	for _, ip := range t.IPAddresses {
		out = append(out, events.IPAddress{IPAddress: ip.IPAddress, Protocol: ip.Protocol})
	}
	return out
}

// taskIPs is t's ipAddresses as /v2/tasks renders them (never null).
func taskIPs(t *task) []ipJSON {
	if t.IPAddresses == nil {
		return []ipJSON{}
	}
	return t.IPAddresses
}
