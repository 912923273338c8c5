package election_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/election"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func masterInfo(id, ip string, port int32) *mesos.MasterInfo {
	return &mesos.MasterInfo{
		Id:       proto.String(id),
		Ip:       proto.Uint32(16777343),
		Port:     proto.Uint32(uint32(port)),
		Pid:      proto.String("master@" + ip + ":5050"),
		Hostname: proto.String("host-" + id),
		Version:  proto.String("1.11.0"),
		Address:  &mesos.Address{Hostname: proto.String("host-" + id), Ip: proto.String(ip), Port: proto.Int32(port)},
	}
}

func TestMasterInfoMesosLayout(t *testing.T) {
	info := masterInfo("m1", "127.0.0.1", 5050)
	b, err := election.EncodeMasterInfo(info)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"address", "hostname", "id", "ip", "pid", "port", "version"}; !slices.Equal(keys, want) {
		t.Fatalf("keys = %q, want Mesos's %q", keys, want)
	}
	if fields["port"] != float64(5050) || fields["ip"] != float64(16777343) {
		t.Fatalf("port/ip not numbers: %s", b)
	}
	addr := fields["address"].(map[string]any)
	if addr["ip"] != "127.0.0.1" || addr["port"] != float64(5050) || addr["hostname"] != "host-m1" {
		t.Fatalf("address = %v", addr)
	}
	got, err := election.DecodeMasterInfo(b)
	if err != nil || !proto.Equal(got, info) {
		t.Fatalf("decode = %v, %v", got, err)
	}
}

func TestDecodeMasterInfoFromMesos(t *testing.T) {
	// As a Mesos 1.x master writes it, with a field Agora does not know.
	data := `{"address":{"hostname":"m1.example","ip":"10.0.0.5","port":5050},"hostname":"m1.example","id":"a1b2","ip":84017162,"pid":"master@10.0.0.5:5050","port":5050,"version":"1.11.0","capabilities":[{"type":"AGENT_UPDATE"}],"future_field":1}`
	info, err := election.DecodeMasterInfo([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	addr, err := election.MasterAddress(info)
	if err != nil || addr != "10.0.0.5:5050" {
		t.Fatalf("MasterAddress = %q, %v", addr, err)
	}
}

func TestMasterAddress(t *testing.T) {
	tests := []struct {
		name string
		info *mesos.MasterInfo
		want string
	}{
		{"address ip", masterInfo("m", "10.1.1.1", 5051), "10.1.1.1:5051"},
		{"address hostname", &mesos.MasterInfo{Address: &mesos.Address{Hostname: proto.String("h"), Port: proto.Int32(7)}}, "h:7"},
		{"legacy hostname and port", &mesos.MasterInfo{Hostname: proto.String("h"), Port: proto.Uint32(5050)}, "h:5050"},
		{"ipv6", &mesos.MasterInfo{Address: &mesos.Address{Ip: proto.String("::1"), Port: proto.Int32(5050)}}, "[::1]:5050"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := election.MasterAddress(tt.info)
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDecodeMasterInfoErrors(t *testing.T) {
	tests := []struct{ data, want string }{
		{``, "not a MasterInfo in JSON"},
		{`garbage`, "not a MasterInfo in JSON"},
		{"\x08\x01\x12\x02id", "not a MasterInfo in JSON"}, // binary protobuf (Mesos's old info_ znodes)
		{`{"id":"x"}`, "required field mesos.v1.MasterInfo.ip not set"},
		{`{"id":"x","ip":1,"port":5050}`, "neither address nor hostname"},
		{`{"id":"x","ip":1,"hostname":"h","port":0}`, "bad port 0"},
		{`{"id":"x","ip":1,"port":1,"address":{"ip":"1.2.3.4","port":70000}}`, "bad port 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			_, err := election.DecodeMasterInfo([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzDecodeMasterInfo(f *testing.F) {
	seed, _ := election.EncodeMasterInfo(masterInfo("m1", "127.0.0.1", 5050))
	f.Add(seed)
	f.Add([]byte(`{"id":"x","ip":1,"hostname":"h","port":5050}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := election.DecodeMasterInfo(data)
		if err != nil {
			return
		}
		if _, err := election.MasterAddress(info); err != nil {
			t.Fatalf("decoded MasterInfo without an address: %v", err)
		}
		b, err := election.EncodeMasterInfo(info)
		if err != nil {
			t.Fatal(err)
		}
		again, err := election.DecodeMasterInfo(b)
		if err != nil || !proto.Equal(again, info) {
			t.Fatalf("round trip: %v, %v", again, err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	if err := election.DefaultConfig("/agora").Validate(); err != nil {
		t.Fatal(err)
	}
	err := election.Config{Path: "agora/", Prefix: "a/b"}.Validate()
	if err == nil || !strings.Contains(err.Error(), `path "agora/"`) || !strings.Contains(err.Error(), `prefix "a/b"`) {
		t.Fatalf("err = %v, want both problems", err)
	}
}
