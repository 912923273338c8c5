package integration

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

// TestMarathonVanishedTasks: `agora marathon` restarted with its state (the same work dir)
// against a fresh master (a new work dir) that knows none of its tasks. The master answers
// its reconciliation and kills with TASK_UNKNOWN; the tasks are expunged: a running app's
// are replaced on the new cluster, a delete completes, and the deleted app's id is free
// again (no 409 on re-create).
func TestMarathonVanishedTasks(t *testing.T) {
	old := cluster.New(t, cluster.Options{Agents: 1})
	port := strconv.Itoa(cluster.FreePort(t))
	dir := filepath.Join(t.TempDir(), "marathon")
	addr := "127.0.0.1:" + port
	start := func(name, master string) (*cluster.Process, marathonClient) {
		p := cluster.Start(t, name, addr, dir, "marathon", "--master", master, "--http_port", port,
			"--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", dir)
		mc := marathonClient{t: t, base: "http://" + addr}
		waitPing(t, mc)
		return p, mc
	}
	p, mc := start("marathon", old.Master.Addr)
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/keep","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":2}`, http.StatusCreated, nil)
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/del","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":1}`, http.StatusCreated, nil)
	before := taskIDs(mc.settled("/keep", 2, false, 30*time.Second))
	mc.settled("/del", 1, false, 30*time.Second)

	// Marathon stops; the old cluster goes away for good; a fresh one comes up.
	p.Stop()
	for _, a := range old.Agents {
		a.Stop()
	}
	old.Master.Stop()
	fresh := cluster.New(t, cluster.Options{Agents: 1})
	_, mc = start("marathon-restarted", fresh.Master.Addr)

	// The running app's tasks are replaced on the fresh cluster (until the master has
	// answered, the restarted Marathon lists the tasks it had).
	poll.Eventually(t, 60*time.Second, func() error {
		a, err := mc.app("/keep")
		if err != nil {
			return err
		}
		fresh := 0
		for _, tk := range a.Tasks {
			if tk.State == "TASK_RUNNING" && !slices.Contains(before, tk.ID) {
				fresh++
			}
		}
		if fresh != 2 || len(a.Tasks) != 2 {
			return fmt.Errorf("/keep: tasks %v, %d of them new and running; want the 2 old ones replaced", taskIDs(a), fresh)
		}
		return nil
	})

	// A delete completes although its task is gone, and the id can be used again.
	mc.must(http.MethodDelete, "/v2/apps/del", "", http.StatusOK, nil)
	poll.Eventually(t, 60*time.Second, func() error {
		var deps []map[string]any
		mc.must(http.MethodGet, "/v2/deployments", "", http.StatusOK, &deps)
		if len(deps) != 0 {
			return fmt.Errorf("deployments after the delete: %v", deps)
		}
		if code, b := mc.do(http.MethodGet, "/v2/apps/del", ""); code != http.StatusNotFound {
			return fmt.Errorf("GET /v2/apps/del = %d %s", code, b)
		}
		return nil
	})
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/del","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":1}`, http.StatusCreated, nil)
	mc.settled("/del", 1, false, 60*time.Second)
}
