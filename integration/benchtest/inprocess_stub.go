//go:build !inprocess

package benchtest

import "testing"

// InProcess is a master and one agent served from the benchmark process; this build has
// none (see inprocess.go): build with -tags inprocess.
type InProcess struct {
	MasterAddr   string
	AgentWorkDir string
}

// StartInProcess fails the benchmark: the master and agent packages are compiled in only
// with -tags inprocess, so that the end-to-end benchmarks need nothing but the agora binary.
func StartInProcess(tb testing.TB, _, _ string) *InProcess {
	tb.Fatal("benchtest: in-process master and agent need -tags inprocess")
	return nil
}
