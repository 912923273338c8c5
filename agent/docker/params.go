package docker

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-units"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// parameterFunc applies one `docker run --key=value` option to the create request.
type parameterFunc func(cfg *container.Config, hc *container.HostConfig, value string) error

// parameters are the DockerInfo.parameters keys Agora supports: the long names of the
// `docker run` options, without the leading "--". A repeated key adds another value where
// docker run takes a list, and otherwise the last one wins, as on the docker command line.
var parameters = map[string]parameterFunc{
	"env": func(cfg *container.Config, _ *container.HostConfig, v string) error {
		k, _, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not KEY=value", v)
		}
		cfg.Env = setEnv(cfg.Env, v)
		return nil
	},
	"label": func(cfg *container.Config, _ *container.HostConfig, v string) error {
		k, val, _ := strings.Cut(v, "=")
		if k == "" {
			return fmt.Errorf("%q is not key=value", v)
		}
		if strings.HasPrefix(k, "agora.") {
			return fmt.Errorf("label %q is reserved", k)
		}
		cfg.Labels[k] = val
		return nil
	},
	"volume": func(_ *container.Config, hc *container.HostConfig, v string) error {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") {
			return fmt.Errorf("%q is not source:/container/path[:options]", v)
		}
		hc.Binds = append(hc.Binds, v)
		return nil
	},
	"workdir": func(cfg *container.Config, _ *container.HostConfig, v string) error {
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("%q is not an absolute path", v)
		}
		cfg.WorkingDir = v
		return nil
	},
	"user": func(cfg *container.Config, _ *container.HostConfig, v string) error {
		cfg.User = v
		return nil
	},
	"hostname": func(cfg *container.Config, _ *container.HostConfig, v string) error {
		cfg.Hostname = v
		return nil
	},
	"entrypoint": func(cfg *container.Config, _ *container.HostConfig, v string) error {
		cfg.Entrypoint = []string{v}
		return nil
	},
	"memory-swap": func(_ *container.Config, hc *container.HostConfig, v string) error {
		if v == "-1" {
			hc.MemorySwap = -1
			return nil
		}
		n, err := units.RAMInBytes(v)
		if err != nil {
			return err
		}
		hc.MemorySwap = n
		return nil
	},
	"memory-reservation": func(_ *container.Config, hc *container.HostConfig, v string) error {
		n, err := units.RAMInBytes(v)
		if err != nil {
			return err
		}
		hc.MemoryReservation = n
		return nil
	},
	"memory-swappiness": func(_ *container.Config, hc *container.HostConfig, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 100 {
			return fmt.Errorf("%q is not 0..100", v)
		}
		hc.MemorySwappiness = &n
		return nil
	},
	"shm-size": func(_ *container.Config, hc *container.HostConfig, v string) error {
		n, err := units.RAMInBytes(v)
		if err != nil {
			return err
		}
		hc.ShmSize = n
		return nil
	},
	"pids-limit": func(_ *container.Config, hc *container.HostConfig, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		hc.PidsLimit = &n
		return nil
	},
	"oom-score-adj": func(_ *container.Config, hc *container.HostConfig, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1000 || n > 1000 {
			return fmt.Errorf("%q is not -1000..1000", v)
		}
		hc.OomScoreAdj = n
		return nil
	},
	"cap-add": func(_ *container.Config, hc *container.HostConfig, v string) error {
		hc.CapAdd = append(hc.CapAdd, v)
		return nil
	},
	"cap-drop": func(_ *container.Config, hc *container.HostConfig, v string) error {
		hc.CapDrop = append(hc.CapDrop, v)
		return nil
	},
	"add-host": func(_ *container.Config, hc *container.HostConfig, v string) error {
		h, ip, ok := strings.Cut(v, ":")
		if !ok || h == "" || ip == "" {
			return fmt.Errorf("%q is not host:ip", v)
		}
		hc.ExtraHosts = append(hc.ExtraHosts, v)
		return nil
	},
	"dns": func(_ *container.Config, hc *container.HostConfig, v string) error {
		hc.DNS = append(hc.DNS, v)
		return nil
	},
	"dns-search": func(_ *container.Config, hc *container.HostConfig, v string) error {
		hc.DNSSearch = append(hc.DNSSearch, v)
		return nil
	},
	"dns-option": dnsOption,
	"dns-opt":    dnsOption,
	"security-opt": func(_ *container.Config, hc *container.HostConfig, v string) error {
		hc.SecurityOpt = append(hc.SecurityOpt, v)
		return nil
	},
	"sysctl": func(_ *container.Config, hc *container.HostConfig, v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", v)
		}
		if hc.Sysctls == nil {
			hc.Sysctls = map[string]string{}
		}
		hc.Sysctls[k] = val
		return nil
	},
	"tmpfs": func(_ *container.Config, hc *container.HostConfig, v string) error {
		p, opts, _ := strings.Cut(v, ":")
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%q is not /path[:options]", v)
		}
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		hc.Tmpfs[p] = opts
		return nil
	},
	"ulimit": func(_ *container.Config, hc *container.HostConfig, v string) error {
		u, err := units.ParseUlimit(v)
		if err != nil {
			return err
		}
		hc.Ulimits = append(hc.Ulimits, u)
		return nil
	},
	"init": func(_ *container.Config, hc *container.HostConfig, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", v)
		}
		hc.Init = &b
		return nil
	},
	"read-only": func(_ *container.Config, hc *container.HostConfig, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", v)
		}
		hc.ReadonlyRootfs = b
		return nil
	},
	"stop-signal": func(cfg *container.Config, _ *container.HostConfig, v string) error {
		cfg.StopSignal = v
		return nil
	},
	"stop-timeout": func(cfg *container.Config, _ *container.HostConfig, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a number of seconds", v)
		}
		cfg.StopTimeout = &n
		return nil
	},
	"log-driver": func(_ *container.Config, hc *container.HostConfig, v string) error {
		hc.LogConfig.Type = v
		return nil
	},
	"log-opt": func(_ *container.Config, hc *container.HostConfig, v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", v)
		}
		if hc.LogConfig.Config == nil {
			hc.LogConfig.Config = map[string]string{}
		}
		hc.LogConfig.Config[k] = val
		return nil
	},
}

func dnsOption(_ *container.Config, hc *container.HostConfig, v string) error {
	hc.DNSOptions = append(hc.DNSOptions, v)
	return nil
}

// SupportedParameters lists the parameter keys ContainerConfig accepts, sorted.
func SupportedParameters() []string {
	keys := make([]string, 0, len(parameters))
	for k := range parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func applyParameters(cfg *container.Config, hc *container.HostConfig, params []*mesos.Parameter) error {
	for i, p := range params {
		where := fmt.Sprintf("/container/docker/parameters/%d", i)
		key := strings.TrimPrefix(p.GetKey(), "--")
		apply, ok := parameters[key]
		if !ok {
			return invalid(where, "parameter %q is not supported (supported: %s)", p.GetKey(), strings.Join(SupportedParameters(), ", "))
		}
		if err := apply(cfg, hc, p.GetValue()); err != nil {
			return invalid(where, "%s: %v", key, err)
		}
	}
	return nil
}

// setEnv sets KEY=value in env, replacing an earlier value of KEY.
func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// durationSeconds rounds a grace period up to whole seconds, as the Engine's stop takes.
func durationSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
