package cluster

import (
	"context"
	"time"

	"github.com/agoracluster/agora/agent"
	"github.com/agoracluster/agora/agent/exechost"
)

// KillProcessesUnder ends what outlived a SIGKILLed or stopped agent with work dir dir: its
// executor host (which kills its executors' tasks) and every executor and task whose sandbox
// lies under dir. Tests call it from t.Cleanup so that nothing leaks.
func KillProcessesUnder(dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	host := exechost.NewClient(exechost.Address(dir))
	_ = host.Shutdown(ctx) // fails at once when no host runs
	host.Close()
	agent.KillSandboxProcesses(dir)
}
