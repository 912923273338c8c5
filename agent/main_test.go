package agent

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The test binary doubles as an executor: the agent runs it as `<binary> executor`
	// (command tasks, via Config.ExecutorBinary) or with AGENT_TEST_EXECUTOR=1 (custom
	// executors).
	if (len(os.Args) > 1 && os.Args[1] == "executor") || os.Getenv("AGENT_TEST_EXECUTOR") == "1" {
		os.Exit(runTestExecutor())
	}
	goleak.VerifyTestMain(m)
}
