package docker

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// FuzzContainerConfig feeds arbitrary TaskInfos (as sent by frameworks) to the translation: it
// must return a config or an ErrInvalidSpec, never panic.
func FuzzContainerConfig(f *testing.F) {
	seed := baseSpec()
	seed.Task.Container.Docker.PortMappings = []*mesos.ContainerInfo_DockerInfo_PortMapping{mapping(31000, 80, "udp")}
	seed.Task.Container.Docker.Parameters = []*mesos.Parameter{param("ulimit", "nofile=1:2"), param("memory-swap", "1g")}
	seed.Task.Container.Volumes = []*mesos.Volume{hostVolume("rel", "/abs", mesos.Volume_RO)}
	b, err := proto.Marshal(seed.Task)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		task := &mesos.TaskInfo{}
		if err := (proto.UnmarshalOptions{AllowPartial: true}).Unmarshal(data, task); err != nil {
			return
		}
		spec := baseSpec()
		spec.Task = task
		cfg, hc, _, err := ContainerConfig(spec)
		if err != nil {
			return
		}
		if cfg.Image == "" || !slices.Contains(hc.Binds, spec.Sandbox+":"+SandboxMountPath) {
			t.Fatalf("accepted config without image or sandbox mount: %+v %+v", cfg, hc)
		}
	})
}
