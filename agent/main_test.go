package agent

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/exechost"
)

func TestMain(m *testing.M) {
	// The test binary doubles as an executor: the agent runs it as `<binary> executor`
	// (command tasks, via Config.ExecutorBinary) or with AGENT_TEST_EXECUTOR=1 (custom
	// executors).
	if (len(os.Args) > 1 && os.Args[1] == "executor") || os.Getenv("AGENT_TEST_EXECUTOR") == "1" {
		os.Exit(runTestExecutor())
	}
	// ... and as the executor host (`<binary> executor-host --work_dir <dir> ...`).
	if len(os.Args) > 3 && os.Args[1] == "executor-host" && os.Args[2] == "--work_dir" {
		os.Exit(runTestExecutorHost(os.Args[3]))
	}
	goleak.VerifyTestMain(m)
}

func runTestExecutorHost(workDir string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log, err := zap.NewDevelopment()
	if err != nil {
		return 1
	}
	if err := exechost.Serve(ctx, workDir, exechost.DefaultConfig(), log); err != nil {
		log.Error("executor host", zap.Error(err))
		return 1
	}
	return 0
}
