package defaultexec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// volumeTarget is where a volume's data lives on the host: a directory of a sandbox
// (SANDBOX_PATH) or a host path (HOST_PATH, or the legacy host_path field).
func volumeTarget(v *mesos.Volume, self, parent string) (string, error) {
	src := v.GetSource()
	switch {
	case src.GetType() == mesos.Volume_Source_SANDBOX_PATH:
		p := src.GetSandboxPath().GetPath()
		if !filepath.IsLocal(p) {
			return "", fmt.Errorf("volume %q: sandbox path %q must be relative and inside the sandbox", v.GetContainerPath(), p)
		}
		base := self
		if src.GetSandboxPath().GetType() == mesos.Volume_Source_SandboxPath_PARENT {
			if parent == "" {
				return "", fmt.Errorf("volume %q: a PARENT sandbox path needs a parent container", v.GetContainerPath())
			}
			base = parent
		}
		return filepath.Join(base, p), nil
	case src.GetType() == mesos.Volume_Source_HOST_PATH:
		return hostPath(v, src.GetHostPath().GetPath())
	case src == nil && v.GetHostPath() != "":
		return hostPath(v, v.GetHostPath())
	case src == nil:
		return "", fmt.Errorf("volume %q: no source (ephemeral volumes are SANDBOX_PATH volumes)", v.GetContainerPath())
	}
	return "", fmt.Errorf("volume %q: %v volumes are not supported by the default executor (SANDBOX_PATH and HOST_PATH are)",
		v.GetContainerPath(), src.GetType())
}

func hostPath(v *mesos.Volume, p string) (string, error) {
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("volume %q: host path %q must be absolute", v.GetContainerPath(), p)
	}
	return filepath.Clean(p), nil
}

// linkVolumes makes the task's volumes appear in its sandbox, as a process task without an
// image sees them: each container_path (relative to the task sandbox) is a symbolic link to
// the volume's data. The executor's own volumes (ExecutorInfo.container.volumes, relative to
// its sandbox) are shared by every task at the same container_path unless the task declares
// a volume there itself; their sandbox directories are created in the executor's sandbox.
func linkVolumes(executorSandbox, taskSandbox string, executorVolumes, taskVolumes []*mesos.Volume) error {
	links := make(map[string]string) // container path -> target
	var order []string
	add := func(v *mesos.Volume, target string) error {
		cp := v.GetContainerPath()
		if !filepath.IsLocal(cp) {
			return fmt.Errorf("volume %q: container path must be relative to the task sandbox (tasks without an image share the host's filesystem)", cp)
		}
		cp = filepath.Clean(cp)
		if _, seen := links[cp]; !seen {
			order = append(order, cp)
		}
		links[cp] = target
		return nil
	}
	for _, v := range executorVolumes {
		target, err := volumeTarget(v, executorSandbox, "")
		if err != nil {
			return fmt.Errorf("executor %w", err)
		}
		if err := add(v, target); err != nil {
			return fmt.Errorf("executor %w", err)
		}
	}
	for _, v := range taskVolumes {
		target, err := volumeTarget(v, taskSandbox, executorSandbox)
		if err != nil {
			return err
		}
		// A PARENT path names the parent's container path, which is the executor volume's
		// data when the executor mounts one there.
		if v.GetSource().GetSandboxPath().GetType() == mesos.Volume_Source_SandboxPath_PARENT {
			target = resolveExecutorVolume(executorSandbox, target, executorVolumes)
		}
		if err := add(v, target); err != nil {
			return err
		}
	}
	for _, cp := range order {
		target := links[cp]
		if isUnder(target, executorSandbox) || isUnder(target, taskSandbox) {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("volume %q: %w", cp, err)
			}
		}
		link := filepath.Join(taskSandbox, cp)
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fmt.Errorf("volume %q: %w", cp, err)
		}
		if err := os.Symlink(target, link); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("volume %q: %w", cp, err)
		}
	}
	return nil
}

// resolveExecutorVolume maps a path in the executor's sandbox that is an executor volume's
// container path to that volume's data.
func resolveExecutorVolume(executorSandbox, target string, executorVolumes []*mesos.Volume) string {
	for _, v := range executorVolumes {
		if filepath.Join(executorSandbox, v.GetContainerPath()) != target {
			continue
		}
		if t, err := volumeTarget(v, executorSandbox, ""); err == nil {
			return t
		}
	}
	return target
}

func isUnder(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}
