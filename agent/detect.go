package agent

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

const (
	mib = 1 << 20
	gib = 1 << 30
	// defaultPorts is the port range an agent offers when --resources names none.
	defaultPorts = "[31000-32000]"
)

// agentResources parses --resources and adds what it leaves out, detected as Mesos does:
// cpus = number of CPUs, mem = total memory - min(1GiB, 50%) in MB, disk = free space of
// the work dir - min(5GiB, 50%) in MB, ports = [31000-32000].
func agentResources(text, workDir string) ([]*mesos.Resource, error) {
	given, err := resources.Parse(text, resources.Unreserved)
	if err != nil {
		return nil, fmt.Errorf("agent: --resources: %w", err)
	}
	have := given.Names()
	var detected []string
	if !slices.Contains(have, "cpus") {
		detected = append(detected, fmt.Sprintf("cpus:%d", runtime.NumCPU()))
	}
	if !slices.Contains(have, "mem") {
		if total, err := totalMemory(); err == nil {
			detected = append(detected, fmt.Sprintf("mem:%d", (total-min(gib, total/2))/mib))
		}
	}
	if !slices.Contains(have, "disk") {
		if free, err := freeDisk(workDir); err == nil {
			detected = append(detected, fmt.Sprintf("disk:%d", (free-min(5*gib, free/2))/mib))
		}
	}
	if !slices.Contains(have, "ports") {
		detected = append(detected, "ports:"+defaultPorts)
	}
	extra, err := resources.Parse(strings.Join(detected, ";"), resources.Unreserved)
	if err != nil {
		return nil, fmt.Errorf("agent: detected resources: %w", err)
	}
	return given.Plus(extra).ToProto(), nil
}

func agentAttributes(text string) ([]*mesos.Attribute, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	attrs, err := resources.ParseAttributes(text)
	if err != nil {
		return nil, fmt.Errorf("agent: --attributes: %w", err)
	}
	return attrs, nil
}

// totalMemory reads MemTotal from /proc/meminfo, in bytes.
func totalMemory() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("MemTotal not found in /proc/meminfo")
}

// freeDisk is the space available to unprivileged users on dir's filesystem, in bytes.
func freeDisk(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
