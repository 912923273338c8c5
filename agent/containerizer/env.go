package containerizer

import (
	"os"
	"strings"
)

// InheritedEnv is what the agent's environment passes on to executors and the executor host:
// all of it but the AGORA_* variables (the agent's own flags) and the MESOS_* ones (an
// executor's are set for it; the host must not pass for an executor).
func InheritedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AGORA_") || strings.HasPrefix(kv, "MESOS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
