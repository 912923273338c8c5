package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sandbox layout (as Mesos):
//
//	<work_dir>/slaves/<agent_id>/frameworks/<framework_id>/executors/<executor_id>/runs/<container_id>/
//	<work_dir>/slaves/<agent_id>/frameworks/<framework_id>/executors/<executor_id>/runs/latest -> <container_id>

// Root is the directory every sandbox lives under; the files API serves nothing else.
func Root(workDir string) string { return filepath.Join(workDir, "slaves") }

// Roots is the sandbox root of workDir, as given and with symlinks resolved.
func Roots(workDir string) []string {
	root := Root(workDir)
	roots := []string{root}
	if r, err := filepath.EvalSymlinks(root); err == nil && r != root {
		roots = append(roots, r)
	}
	return roots
}

// FrameworkDir is the directory of a framework's sandboxes.
func FrameworkDir(workDir, agentID, frameworkID string) string {
	return filepath.Join(workDir, "slaves", agentID, "frameworks", frameworkID)
}

// RunsDir is the runs directory of an executor.
func RunsDir(workDir, agentID, frameworkID, executorID string) string {
	return filepath.Join(workDir, "slaves", agentID, "frameworks", frameworkID, "executors", executorID, "runs")
}

// Path is the sandbox of one run of an executor. (One Join: it is built for every
// executor launched.)
func Path(workDir, agentID, frameworkID, executorID, containerID string) string {
	return filepath.Join(workDir, "slaves", agentID, "frameworks", frameworkID, "executors", executorID, "runs", containerID)
}

// Create creates the sandbox directory (…/executors/<executor_id>/runs/<container_id>)
// and points runs/latest at it.
func Create(dir string) error {
	runs := filepath.Dir(dir)
	executors := filepath.Dir(filepath.Dir(runs))
	err := Mkdirs(filepath.Dir(executors), filepath.Base(executors), filepath.Base(filepath.Dir(runs)), filepath.Base(runs), filepath.Base(dir))
	if err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	if err := Link(filepath.Join(runs, "latest"), filepath.Base(dir)); err != nil {
		return fmt.Errorf("create sandbox: %w", err)
	}
	return nil
}

// Mkdirs creates base/names[0]/names[1]/... level by level, one mkdir each (MkdirAll
// stats every level first); base is created when missing.
func Mkdirs(base string, names ...string) error {
	dir := base
	for i, name := range names {
		dir = filepath.Join(dir, name)
		err := os.Mkdir(dir, 0o755)
		if err == nil || errors.Is(err, os.ErrExist) {
			continue
		}
		if i == 0 && errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o755); err == nil {
				continue
			}
		}
		return err
	}
	return nil
}

// Link points the symlink link at target: a new link is created in place, an existing one
// is replaced atomically (Relink).
func Link(link, target string) error {
	err := os.Symlink(target, link)
	if errors.Is(err, os.ErrExist) {
		return Relink(link, target)
	}
	return err
}

// Relink atomically points the symlink link at target.
func Relink(link, target string) error {
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

// ErrOutside is returned for a path that resolves outside every sandbox.
var ErrOutside = errors.New("sandbox: path is outside the sandboxes")

// Resolve resolves p (symlinks and "..") and checks that it lies under the sandbox root
// of workDir. It returns the resolved path.
func Resolve(workDir, p string) (string, error) {
	if p == "" || !filepath.IsAbs(p) {
		return "", fmt.Errorf("%w: %q", ErrOutside, p)
	}
	root, err := filepath.EvalSymlinks(Root(workDir))
	if err != nil {
		return "", err
	}
	resolved, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, resolved)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: %q", ErrOutside, p)
	}
	return resolved, nil
}

// ListDirs returns the names of the directories in dir, sorted as os.ReadDir sorts them
// (symlinks such as "latest" are not listed).
func ListDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
