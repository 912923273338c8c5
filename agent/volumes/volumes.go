// Package volumes keeps an agent's persistent volumes on disk: a directory per
// volume under <work_dir>/volumes/roles/<role>/<persistence_id>, created when
// the master's checkpoint brings the volume (CREATE), removed when it takes it
// away (DESTROY), and linked into a task's sandbox at the volume's
// container_path. A volume's data outlives the tasks that use it and agent
// restarts.
//
// Tasks of the process containerizers see a volume through a symlink in their
// sandbox, as Mesos's posix filesystem isolator does; the mode (RW/RO) is not
// enforced there. Docker tasks get a bind mount of it (read-only for RO) from
// the docker containerizer.
package volumes

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/sandbox"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Root is the directory that holds every persistent volume of the agent.
func Root(workDir string) string { return filepath.Join(workDir, "volumes", "roles") }

// Path is where the persistent volume id of role keeps its data. Roles and
// ids are validated names (no "..", ids without '/'), so the path stays under
// Root; a hierarchical role "a/b" nests as a/b.
func Path(workDir, role, id string) string {
	return filepath.Join(Root(workDir), filepath.FromSlash(role), id)
}

// Sync makes the volume directories match want: those of want's persistent
// volumes are created if missing, those of had's volumes that want lacks are
// removed with their data. It returns every failure at once.
func Sync(workDir string, had, want resources.Resources) error {
	var errs []error
	keep := map[string]bool{}
	for r := range want.PersistentVolumes().Each {
		p := Path(workDir, r.Role, r.Volume.ID)
		keep[p] = true
		if err := os.MkdirAll(p, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("volumes: create %s: %w", p, err))
		}
	}
	for r := range had.PersistentVolumes().Each {
		p := Path(workDir, r.Role, r.Volume.ID)
		if keep[p] {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, fmt.Errorf("volumes: remove %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// Owner is the user a container runs as, by ids.
type Owner struct{ UID, GID int }

// Link makes the persistent volumes among res visible in sandboxDir: a symlink
// at each volume's container_path (parents created) to its directory, which
// is created if missing. With an owner (a container running as another user
// than the agent), each volume's directory is handed to it, not recursively,
// as Mesos gives a volume the owner of the sandbox it is used from.
func Link(workDir, sandboxDir string, res resources.Resources, owner *Owner) error {
	var errs []error
	for r := range res.PersistentVolumes().Each {
		target := Path(workDir, r.Role, r.Volume.ID)
		link := filepath.Join(sandboxDir, filepath.FromSlash(r.Volume.ContainerPath))
		if err := linkOne(target, link, owner); err != nil {
			errs = append(errs, fmt.Errorf("volumes: link volume %s at %s: %w", r.Volume.ID, r.Volume.ContainerPath, err))
		}
	}
	return errors.Join(errs...)
}

func linkOne(target, link string, owner *Owner) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if owner != nil {
		if err := os.Chown(target, owner.UID, owner.GID); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("%s already exists in the sandbox", link)
	}
	return sandbox.Link(link, target)
}

// OwnerOf is who the volumes of a container running as userName must
// belong to: nil when the agent does not run as root or the container runs
// as the agent's user. An unknown user gives nil too; the launch then fails
// on it with a clear error.
func OwnerOf(userName string) *Owner {
	if userName == "" || os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(userName)
	if err != nil {
		return nil
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil
	}
	return &Owner{UID: uid, GID: gid}
}

// Of returns the persistent volumes that an executor and its tasks use.
func Of(info *mesos.ExecutorInfo, tasks []*mesos.TaskInfo) resources.Resources {
	var out resources.Resources
	add := func(pbs []*mesos.Resource) {
		if r, err := resources.FromProto(stripAllocationInfo(pbs)); err == nil {
			out = out.Plus(r.PersistentVolumes())
		}
	}
	if info != nil {
		add(info.GetResources())
	}
	for _, t := range tasks {
		add(t.GetResources())
	}
	return out
}

func stripAllocationInfo(in []*mesos.Resource) []*mesos.Resource {
	out := make([]*mesos.Resource, len(in))
	for i, r := range in {
		if r.AllocationInfo != nil {
			r = proto.Clone(r).(*mesos.Resource)
			r.AllocationInfo = nil
		}
		out[i] = r
	}
	return out
}
