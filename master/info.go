package master

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// masterInfo describes this master with the advertised address.
func (m *Master) masterInfo(addr net.Addr) (*mesos.MasterInfo, error) {
	host, portStr, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil, fmt.Errorf("master: listener address %q: %w", addr, err)
	}
	port, _ := strconv.Atoi(portStr)
	if m.cfg.Port != 0 {
		port = m.cfg.Port
	}
	ip := m.cfg.IP
	if ip == "" {
		ip = host
	}
	hostname := m.cfg.Hostname
	if hostname == "" {
		if h, err := os.Hostname(); err == nil {
			hostname = h
		}
	}
	parsed := net.ParseIP(ip)
	if parsed == nil || parsed.IsUnspecified() {
		// Listening on every address: advertise the hostname's address, as Mesos does.
		parsed = hostIPv4(hostname)
		ip = parsed.String()
	}
	if hostname == "" {
		hostname = ip
	}
	var ipNum uint32
	if v4 := parsed.To4(); v4 != nil {
		// Mesos stores the in_addr as it lies in memory on a little-endian host.
		ipNum = binary.LittleEndian.Uint32(v4)
	}
	return &mesos.MasterInfo{
		Id:       proto.String(uuid.NewString()),
		Ip:       proto.Uint32(ipNum),
		Port:     proto.Uint32(uint32(port)),
		Pid:      proto.String(fmt.Sprintf("master@%s:%d", ip, port)),
		Hostname: proto.String(hostname),
		Version:  proto.String(m.cfg.Version),
		Address: &mesos.Address{
			Hostname: proto.String(hostname),
			Ip:       proto.String(ip),
			Port:     proto.Int32(int32(port)),
		},
	}, nil
}

// hostIPv4 is the first IPv4 address of hostname, or 127.0.0.1.
func hostIPv4(hostname string) net.IP {
	if hostname != "" {
		if ips, err := net.LookupIP(hostname); err == nil {
			for _, ip := range ips {
				if v4 := ip.To4(); v4 != nil {
					return v4
				}
			}
		}
	}
	return net.IPv4(127, 0, 0, 1).To4()
}
