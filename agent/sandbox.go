package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Sandbox layout (as Mesos):
//
//	<work_dir>/slaves/<agent_id>/frameworks/<framework_id>/executors/<executor_id>/runs/<container_id>/
//	<work_dir>/slaves/<agent_id>/frameworks/<framework_id>/executors/<executor_id>/runs/latest -> <container_id>

// sandboxRoot is the directory every sandbox lives under; the files API serves nothing else.
func sandboxRoot(workDir string) string { return filepath.Join(workDir, "slaves") }

// executorRunsDir is the runs directory of an executor.
func executorRunsDir(workDir, agentID, frameworkID, executorID string) string {
	return filepath.Join(workDir, "slaves", agentID, "frameworks", frameworkID, "executors", executorID, "runs")
}

// sandboxPath is the sandbox of one run of an executor.
func sandboxPath(workDir, agentID, frameworkID, executorID, containerID string) string {
	return filepath.Join(executorRunsDir(workDir, agentID, frameworkID, executorID), containerID)
}

// createSandbox creates the sandbox directory (…/executors/<executor_id>/runs/<container_id>)
// and points runs/latest at it.
func createSandbox(dir string) error {
	runs := filepath.Dir(dir)
	executors := filepath.Dir(filepath.Dir(runs))
	err := mkdirs(filepath.Dir(executors), filepath.Base(executors), filepath.Base(filepath.Dir(runs)), filepath.Base(runs), filepath.Base(dir))
	if err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	if err := link(filepath.Join(runs, "latest"), filepath.Base(dir)); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	return nil
}

// link points the symlink link at target: a new link is created in place, an existing one
// is replaced atomically (relink).
func link(link, target string) error {
	err := os.Symlink(target, link)
	if errors.Is(err, os.ErrExist) {
		return relink(link, target)
	}
	return err
}

// relink atomically points the symlink link at target.
func relink(link, target string) error {
	tmp := link + ".tmp-" + filepath.Base(target)
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// errOutsideSandbox is returned for a path that resolves outside every sandbox.
var errOutsideSandbox = errors.New("agent: path is outside the sandboxes")

// resolveSandboxPath resolves p (symlinks and "..") and checks that it lies under the
// sandbox root of workDir. It returns the resolved path.
func resolveSandboxPath(workDir, p string) (string, error) {
	if p == "" || !filepath.IsAbs(p) {
		return "", fmt.Errorf("%w: %q", errOutsideSandbox, p)
	}
	root, err := filepath.EvalSymlinks(sandboxRoot(workDir))
	if err != nil {
		return "", err
	}
	resolved, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, resolved)
	if err != nil || rel == ".." || len(rel) >= 3 && rel[:3] == "../" {
		return "", fmt.Errorf("%w: %q", errOutsideSandbox, p)
	}
	return resolved, nil
}
