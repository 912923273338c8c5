package cluster

import "github.com/agoracluster/agora/agent"

// KillProcessesUnder SIGKILLs every executor and task whose sandbox lies under dir: what
// outlived a SIGKILLed or stopped agent. Tests call it from t.Cleanup so that nothing leaks.
func KillProcessesUnder(dir string) { agent.KillSandboxProcesses(dir) }
