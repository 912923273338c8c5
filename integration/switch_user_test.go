package integration

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/hosttest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// asUser is a shell task run as user.
func asUser(id, cmd, userName string) *mesos.TaskInfo {
	t := cluster.ShellTask(id, cmd, "cpus:0.1;mem:32")
	t.Command.User = proto.String(userName)
	return t
}

// TestSwitchUser: an agent running as root runs a task as the task's user (its uid, and a
// sandbox it owns), fails a task whose user does not exist with a message naming it, and
// with --switch_user=false runs it as the agent's user.
func TestSwitchUser(t *testing.T) {
	if os.Geteuid() != 0 {
		hosttest.Require(t, "switching users needs the agent to run as root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		hosttest.Require(t, "no user nobody on this host: "+err.Error())
	}
	ctx := context.Background()

	c := cluster.New(t, cluster.Options{Agents: 1})
	traversable(t, c.Agents[0].WorkDir)
	f := c.StartFramework(cluster.FrameworkOptions{Name: "users"})
	f.Launch(ctx,
		asUser("as-nobody", `test "$(id -u)" = `+nobody.Uid+` && test -O "$MESOS_SANDBOX" && touch "$MESOS_SANDBOX/mine"`, "nobody"),
		asUser("as-ghost", "true", "no-such-user-agora"))
	f.WaitState("as-nobody", mesos.TaskState_TASK_FINISHED, 60*time.Second)
	st := f.WaitState("as-ghost", mesos.TaskState_TASK_FAILED, 60*time.Second)
	if !strings.Contains(st.GetMessage(), "no-such-user-agora") {
		t.Errorf("a task of an unknown user failed with %q; want the user named", st.GetMessage())
	}

	plain := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--switch_user=false"}})
	g := plain.StartFramework(cluster.FrameworkOptions{Name: "no-switch"})
	g.Launch(ctx, asUser("stays-root", `test "$(id -u)" = 0`, "nobody"))
	g.WaitState("stays-root", mesos.TaskState_TASK_FINISHED, 60*time.Second)
}

// traversable opens the test's temporary directories above dir to other users (t.TempDir
// makes them 0700), as an agent's --work_dir is on a host, so that a task of another user
// can enter its sandbox.
func traversable(t *testing.T, dir string) {
	t.Helper()
	for d := filepath.Dir(dir); d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
