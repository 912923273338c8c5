package docker

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

func baseSpec() Spec {
	return Spec{
		ContainerID: "c-1",
		FrameworkID: "fw-1",
		ExecutorID:  "task-1",
		Sandbox:     "/var/agora/sandbox",
		Env:         []string{"MESOS_TASK_ID=task-1", "MARATHON_APP_ID=/app"},
		Task: &mesos.TaskInfo{
			Name:      proto.String("task"),
			TaskId:    &mesos.TaskID{Value: proto.String("task-1")},
			AgentId:   &mesos.AgentID{Value: proto.String("agent-1")},
			Resources: resources.MustParse("cpus:0.5;mem:128;ports:[31000-31009]").ToProto(),
			Command:   &mesos.CommandInfo{Shell: proto.Bool(false)},
			Container: &mesos.ContainerInfo{
				Type:   mesos.ContainerInfo_DOCKER.Enum(),
				Docker: &mesos.ContainerInfo_DockerInfo{Image: proto.String("hello_world:latest")},
			},
		},
	}
}

func docker(s *Spec) *mesos.ContainerInfo_DockerInfo { return s.Task.Container.Docker }

func network_(n mesos.ContainerInfo_DockerInfo_Network) *mesos.ContainerInfo_DockerInfo_Network {
	return n.Enum()
}

func mapping(host, ctr uint32, protocol string) *mesos.ContainerInfo_DockerInfo_PortMapping {
	m := &mesos.ContainerInfo_DockerInfo_PortMapping{HostPort: proto.Uint32(host), ContainerPort: proto.Uint32(ctr)}
	if protocol != "" {
		m.Protocol = proto.String(protocol)
	}
	return m
}

func param(k, v string) *mesos.Parameter {
	return &mesos.Parameter{Key: proto.String(k), Value: proto.String(v)}
}

func hostVolume(host, ctr string, mode mesos.Volume_Mode) *mesos.Volume {
	return &mesos.Volume{HostPath: proto.String(host), ContainerPath: proto.String(ctr), Mode: mode.Enum()}
}

type created struct {
	cfg *container.Config
	hc  *container.HostConfig
	nc  *network.NetworkingConfig
}

func TestContainerConfig(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Spec)
		check  func(t *testing.T, c created)
	}{
		{
			name:   "image and name-independent basics",
			modify: func(*Spec) {},
			check: func(t *testing.T, c created) {
				equal(t, "image", c.cfg.Image, "hello_world:latest")
				equal(t, "network", string(c.hc.NetworkMode), "host")
				equal(t, "privileged", c.hc.Privileged, false)
				equal(t, "cmd", len(c.cfg.Cmd), 0)
				equal(t, "entrypoint", len(c.cfg.Entrypoint), 0)
			},
		},
		{
			name: "labels carry the ids and the task labels",
			modify: func(s *Spec) {
				s.Task.Labels = &mesos.Labels{Labels: []*mesos.Label{{Key: proto.String("team"), Value: proto.String("web")}, {Key: proto.String(LabelTaskID), Value: proto.String("spoof")}}}
			},
			check: func(t *testing.T, c created) {
				equalMap(t, c.cfg.Labels, map[string]string{
					LabelAgentID: "agent-1", LabelFrameworkID: "fw-1", LabelExecutorID: "task-1",
					LabelTaskID: "task-1", LabelContainerID: "c-1", "team": "web",
				})
			},
		},
		{
			name:   "sandbox mounted and MESOS_SANDBOX points at it",
			modify: func(*Spec) {},
			check: func(t *testing.T, c created) {
				contains(t, "binds", c.hc.Binds, "/var/agora/sandbox:/mnt/mesos/sandbox")
				contains(t, "env", c.cfg.Env, "MESOS_SANDBOX=/mnt/mesos/sandbox")
				contains(t, "env", c.cfg.Env, "MESOS_CONTAINER_NAME=agora-c-1")
			},
		},
		{
			name: "environment merges command env and executor env, executor wins, sorted",
			modify: func(s *Spec) {
				s.Task.Command.Environment = &mesos.Environment{Variables: []*mesos.Environment_Variable{
					{Name: proto.String("ZED"), Value: proto.String("z")},
					{Name: proto.String("MESOS_TASK_ID"), Value: proto.String("overridden")},
				}}
			},
			check: func(t *testing.T, c created) {
				equal(t, "env", strings.Join(c.cfg.Env, " "),
					"MARATHON_APP_ID=/app MESOS_CONTAINER_NAME=agora-c-1 MESOS_SANDBOX=/mnt/mesos/sandbox MESOS_TASK_ID=task-1 ZED=z")
			},
		},
		{
			name:   "shell command overrides entrypoint with /bin/sh -c",
			modify: func(s *Spec) { s.Task.Command = &mesos.CommandInfo{Value: proto.String("echo hi && sleep 1")} },
			check: func(t *testing.T, c created) {
				equalSlice(t, "entrypoint", c.cfg.Entrypoint, []string{"/bin/sh"})
				equalSlice(t, "cmd", c.cfg.Cmd, []string{"-c", "echo hi && sleep 1"})
			},
		},
		{
			name: "non-shell value and arguments become the command, entrypoint kept",
			modify: func(s *Spec) {
				s.Task.Command = &mesos.CommandInfo{Shell: proto.Bool(false), Value: proto.String("-listen"), Arguments: []string{":80", "-v"}}
			},
			check: func(t *testing.T, c created) {
				equal(t, "entrypoint", len(c.cfg.Entrypoint), 0)
				equalSlice(t, "cmd", c.cfg.Cmd, []string{"-listen", ":80", "-v"})
			},
		},
		{
			name: "non-shell arguments only (Marathon args)",
			modify: func(s *Spec) {
				s.Task.Command = &mesos.CommandInfo{Shell: proto.Bool(false), Arguments: []string{"-exit", "3"}}
			},
			check: func(t *testing.T, c created) { equalSlice(t, "cmd", c.cfg.Cmd, []string{"-exit", "3"}) },
		},
		{
			name:   "cpu shares, quota and memory from resources",
			modify: func(*Spec) {},
			check: func(t *testing.T, c created) {
				equal(t, "cpu shares", c.hc.CPUShares, int64(512))
				equal(t, "cpu period", c.hc.CPUPeriod, int64(100000))
				equal(t, "cpu quota", c.hc.CPUQuota, int64(50000))
				equal(t, "memory", c.hc.Memory, int64(128<<20))
				equal(t, "memory swap", c.hc.MemorySwap, int64(128<<20))
			},
		},
		{
			name: "cpu quota disabled, tiny limits raised to the minimum",
			modify: func(s *Spec) {
				s.DisableCPUQuota = true
				s.Task.Resources = resources.MustParse("cpus:0.001;mem:1").ToProto()
			},
			check: func(t *testing.T, c created) {
				equal(t, "cpu shares", c.hc.CPUShares, int64(2))
				equal(t, "cpu quota", c.hc.CPUQuota, int64(0))
				equal(t, "memory", c.hc.Memory, int64(32<<20))
			},
		},
		{
			name:   "no resources, no limits",
			modify: func(s *Spec) { s.Task.Resources = nil },
			check: func(t *testing.T, c created) {
				equal(t, "cpu shares", c.hc.CPUShares, int64(0))
				equal(t, "memory", c.hc.Memory, int64(0))
			},
		},
		{
			name: "bridge with tcp, udp and both port mappings",
			modify: func(s *Spec) {
				docker(s).Network = network_(mesos.ContainerInfo_DockerInfo_BRIDGE)
				docker(s).PortMappings = []*mesos.ContainerInfo_DockerInfo_PortMapping{mapping(31000, 9001, ""), mapping(31001, 53, "udp"), mapping(31002, 7000, "tcp,udp")}
			},
			check: func(t *testing.T, c created) {
				equal(t, "network", string(c.hc.NetworkMode), "bridge")
				equalMap(t, bindings(c.hc.PortBindings), map[string]string{"9001/tcp": "31000", "53/udp": "31001", "7000/tcp": "31002", "7000/udp": "31002"})
				equal(t, "exposed", len(c.cfg.ExposedPorts), 4)
			},
		},
		{
			name: "host with port mappings publishes them on the bridge",
			modify: func(s *Spec) {
				docker(s).PortMappings = []*mesos.ContainerInfo_DockerInfo_PortMapping{mapping(31005, 9001, "")}
			},
			check: func(t *testing.T, c created) {
				equal(t, "network", string(c.hc.NetworkMode), "bridge")
				equalMap(t, bindings(c.hc.PortBindings), map[string]string{"9001/tcp": "31005"})
			},
		},
		{
			name:   "none network",
			modify: func(s *Spec) { docker(s).Network = network_(mesos.ContainerInfo_DockerInfo_NONE) },
			check:  func(t *testing.T, c created) { equal(t, "network", string(c.hc.NetworkMode), "none") },
		},
		{
			name: "user network by name",
			modify: func(s *Spec) {
				docker(s).Network = network_(mesos.ContainerInfo_DockerInfo_USER)
				s.Task.Container.NetworkInfos = []*mesos.NetworkInfo{{Name: proto.String("overlay-a")}}
			},
			check: func(t *testing.T, c created) {
				equal(t, "network", string(c.hc.NetworkMode), "overlay-a")
				equal(t, "endpoints", len(c.nc.EndpointsConfig), 1)
			},
		},
		{
			name:   "privileged",
			modify: func(s *Spec) { docker(s).Privileged = proto.Bool(true) },
			check:  func(t *testing.T, c created) { equal(t, "privileged", c.hc.Privileged, true) },
		},
		{
			name: "volumes: absolute host path, sandbox-relative host path, relative container path",
			modify: func(s *Spec) {
				s.Task.Container.Volumes = []*mesos.Volume{
					hostVolume("/etc/ssl", "/etc/ssl", mesos.Volume_RO),
					hostVolume("data", "/data", mesos.Volume_RW),
					hostVolume("/srv/cache", "cache", mesos.Volume_RW),
				}
			},
			check: func(t *testing.T, c created) {
				equalSlice(t, "binds", c.hc.Binds, []string{
					"/etc/ssl:/etc/ssl:ro",
					"/var/agora/sandbox/data:/data:rw",
					"/srv/cache:/mnt/mesos/sandbox/cache:rw",
					"/var/agora/sandbox:/mnt/mesos/sandbox",
				})
			},
		},
		{
			name: "persistent volumes bound at their container paths under the sandbox",
			modify: func(s *Spec) {
				rw := resources.ScalarResource("disk", "", 64).PushReservation(resources.Dynamic("web", "ops"))
				rw.Volume = &resources.Volume{ID: "v1", ContainerPath: "data"}
				ro := resources.ScalarResource("disk", "", 8).PushReservation(resources.Dynamic("web", "ops"))
				ro.Volume = &resources.Volume{ID: "v2", ContainerPath: "conf/ro", ReadOnly: true}
				s.Task.Resources = append(s.Task.Resources, resources.Of(rw, ro).ToProto()...)
			},
			check: func(t *testing.T, c created) {
				equalSlice(t, "binds", c.hc.Binds, []string{
					"/var/agora/sandbox:/mnt/mesos/sandbox",
					"/var/agora/sandbox/data:/mnt/mesos/sandbox/data:rw",
					"/var/agora/sandbox/conf/ro:/mnt/mesos/sandbox/conf/ro:ro",
				})
			},
		},
		{
			name: "volume sources: docker volume with driver, host path, sandbox path",
			modify: func(s *Spec) {
				s.Task.Container.Volumes = []*mesos.Volume{
					{ContainerPath: proto.String("/v"), Mode: mesos.Volume_RW.Enum(), Source: &mesos.Volume_Source{
						Type:         mesos.Volume_Source_DOCKER_VOLUME.Enum(),
						DockerVolume: &mesos.Volume_Source_DockerVolume{Name: proto.String("vol1"), Driver: proto.String("local")},
					}},
					{ContainerPath: proto.String("/h"), Mode: mesos.Volume_RO.Enum(), Source: &mesos.Volume_Source{
						Type: mesos.Volume_Source_HOST_PATH.Enum(), HostPath: &mesos.Volume_Source_HostPath{Path: proto.String("/opt/h")},
					}},
					{ContainerPath: proto.String("/s"), Mode: mesos.Volume_RW.Enum(), Source: &mesos.Volume_Source{
						Type: mesos.Volume_Source_SANDBOX_PATH.Enum(), SandboxPath: &mesos.Volume_Source_SandboxPath{Path: proto.String("sub/dir")},
					}},
				}
			},
			check: func(t *testing.T, c created) {
				equal(t, "driver", c.hc.VolumeDriver, "local")
				equalSlice(t, "binds", c.hc.Binds[:3], []string{"vol1:/v:rw", "/opt/h:/h:ro", "/var/agora/sandbox/sub/dir:/s:rw"})
			},
		},
		{
			name: "parameters",
			modify: func(s *Spec) {
				docker(s).Parameters = []*mesos.Parameter{
					param("env", "EXTRA=1"), param("env", "MESOS_TASK_ID=param"), param("label", "tier=front"),
					param("volume", "/tmp:/tmp:ro"), param("workdir", "/work"), param("user", "nobody"),
					param("memory-swap", "512m"), param("cap-add", "NET_ADMIN"), param("cap-drop", "MKNOD"),
					param("add-host", "db:10.0.0.1"), param("entrypoint", "/hello"), param("dns", "10.0.0.2"),
					param("ulimit", "nofile=1024:2048"), param("--init", "true"),
				}
			},
			check: func(t *testing.T, c created) {
				contains(t, "env", c.cfg.Env, "EXTRA=1")
				contains(t, "env", c.cfg.Env, "MESOS_TASK_ID=param")
				equal(t, "label", c.cfg.Labels["tier"], "front")
				contains(t, "binds", c.hc.Binds, "/tmp:/tmp:ro")
				equal(t, "workdir", c.cfg.WorkingDir, "/work")
				equal(t, "user", c.cfg.User, "nobody")
				equal(t, "memory swap", c.hc.MemorySwap, int64(512<<20))
				equalSlice(t, "cap-add", c.hc.CapAdd, []string{"NET_ADMIN"})
				equalSlice(t, "cap-drop", c.hc.CapDrop, []string{"MKNOD"})
				equalSlice(t, "extra hosts", c.hc.ExtraHosts, []string{"db:10.0.0.1"})
				equalSlice(t, "entrypoint", c.cfg.Entrypoint, []string{"/hello"})
				equalSlice(t, "dns", c.hc.DNS, []string{"10.0.0.2"})
				equal(t, "ulimits", len(c.hc.Ulimits), 1)
				equal(t, "init", *c.hc.Init, true)
			},
		},
		{
			name: "hostname on bridge",
			modify: func(s *Spec) {
				docker(s).Network = network_(mesos.ContainerInfo_DockerInfo_BRIDGE)
				s.Task.Container.Hostname = proto.String("web-1")
			},
			check: func(t *testing.T, c created) { equal(t, "hostname", c.cfg.Hostname, "web-1") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec()
			tt.modify(&spec)
			cfg, hc, nc, err := ContainerConfig(spec)
			if err != nil {
				t.Fatalf("ContainerConfig: %v", err)
			}
			tt.check(t, created{cfg, hc, nc})
		})
	}
}

func TestContainerConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Spec)
		want   string
	}{
		{"no task", func(s *Spec) { s.Task = nil }, "/task: must be set"},
		{"not docker", func(s *Spec) { s.Task.Container.Type = mesos.ContainerInfo_MESOS.Enum() }, "/container: must be of type DOCKER"},
		{"empty image", func(s *Spec) { docker(s).Image = proto.String(" ") }, "/container/docker/image: must not be empty"},
		{"relative sandbox", func(s *Spec) { s.Sandbox = "sandbox" }, "sandbox: \"sandbox\" is not an absolute path"},
		{"no container id", func(s *Spec) { s.ContainerID = "" }, "container_id: must not be empty"},
		{"shell without value", func(s *Spec) { s.Task.Command = &mesos.CommandInfo{} }, "shell specified but no command value provided"},
		{"secret env", func(s *Spec) {
			s.Task.Command.Environment = &mesos.Environment{Variables: []*mesos.Environment_Variable{{Name: proto.String("PW"), Type: mesos.Environment_Variable_SECRET.Enum()}}}
		}, "/command/environment/variables/0: secret variables are not supported"},
		{"bad executor env", func(s *Spec) { s.Env = []string{"NOEQUALS"} }, "env: \"NOEQUALS\" is not KEY=value"},
		{"host port outside the ports resource", func(s *Spec) {
			docker(s).Network = network_(mesos.ContainerInfo_DockerInfo_BRIDGE)
			docker(s).PortMappings = []*mesos.ContainerInfo_DockerInfo_PortMapping{mapping(8080, 80, "")}
		}, "/container/docker/port_mappings/0/host_port: port 8080 is not included in the task's ports resource [31000-31009]"},
		{"bad protocol", func(s *Spec) {
			docker(s).Network = network_(mesos.ContainerInfo_DockerInfo_BRIDGE)
			docker(s).PortMappings = []*mesos.ContainerInfo_DockerInfo_PortMapping{mapping(31000, 80, "sctp")}
		}, "/container/docker/port_mappings/0/protocol: \"sctp\" is not tcp or udp"},
		{"port mappings on none", func(s *Spec) {
			docker(s).Network = network_(mesos.ContainerInfo_DockerInfo_NONE)
			docker(s).PortMappings = []*mesos.ContainerInfo_DockerInfo_PortMapping{mapping(31000, 80, "")}
		}, "port mappings are only supported"},
		{"user network without name", func(s *Spec) { docker(s).Network = network_(mesos.ContainerInfo_DockerInfo_USER) }, "USER network needs exactly one network info, got 0"},
		{"hostname with host network", func(s *Spec) { s.Task.Container.Hostname = proto.String("h") }, "/container/hostname: cannot be set with host networking"},
		{"both volume paths relative", func(s *Spec) {
			s.Task.Container.Volumes = []*mesos.Volume{hostVolume("a", "b", mesos.Volume_RW)}
		}, "/container/volumes/0: both host_path \"a\" and container_path \"b\" are relative"},
		{"volume without source", func(s *Spec) {
			s.Task.Container.Volumes = []*mesos.Volume{{ContainerPath: proto.String("/x"), Mode: mesos.Volume_RW.Enum()}}
		}, "/container/volumes/0: host_path or source is required"},
		{"sandbox path escaping", func(s *Spec) {
			s.Task.Container.Volumes = []*mesos.Volume{{ContainerPath: proto.String("/s"), Mode: mesos.Volume_RW.Enum(), Source: &mesos.Volume_Source{
				Type: mesos.Volume_Source_SANDBOX_PATH.Enum(), SandboxPath: &mesos.Volume_Source_SandboxPath{Path: proto.String("../../etc")},
			}}}
		}, "must stay inside the sandbox"},
		{"unsupported parameter", func(s *Spec) { docker(s).Parameters = []*mesos.Parameter{param("net", "host")} }, "/container/docker/parameters/0: parameter \"net\" is not supported (supported: add-host, "},
		{"bad parameter value", func(s *Spec) { docker(s).Parameters = []*mesos.Parameter{param("memory-swap", "lots")} }, "/container/docker/parameters/0: memory-swap:"},
		{"reserved label", func(s *Spec) { docker(s).Parameters = []*mesos.Parameter{param("label", "agora.task_id=x")} }, "label \"agora.task_id\" is reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec()
			tt.modify(&spec)
			_, _, _, err := ContainerConfig(spec)
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("err = %v, want ErrInvalidSpec", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestGraceSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{{"0s", 0}, {"-1s", 0}, {"1ns", 1}, {"1s", 1}, {"1500ms", 2}, {"3s", 3}}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := time.ParseDuration(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "seconds", durationSeconds(d), tt.want)
		})
	}
}

func bindings(pm nat.PortMap) map[string]string {
	out := map[string]string{}
	for p, bs := range pm {
		hosts := make([]string, 0, len(bs))
		for _, b := range bs {
			hosts = append(hosts, b.HostPort)
		}
		out[string(p)] = strings.Join(hosts, ",")
	}
	return out
}

func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func equalSlice(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func equalMap(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("map = %v, want %v", got, want)
		return
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("map[%q] = %q, want %q (map %v)", k, g, v, got)
		}
	}
}

func contains(t *testing.T, what string, got []string, want string) {
	t.Helper()
	if !slices.Contains(got, want) {
		t.Errorf("%s = %q, want it to contain %q", what, got, want)
	}
}
