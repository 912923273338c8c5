//go:build !inprocess

package integration

import "testing"

// The in-process master and Marathon are compiled in only with -tags inprocess (see
// bench_marathon_inprocess_test.go), so that the benchmarks need nothing but the agora binary.

func startInProcessMaster(b *testing.B) string {
	b.Fatal("in-process master needs -tags inprocess")
	return ""
}

func startInProcessMarathon(b *testing.B, _ string) string {
	b.Fatal("in-process marathon needs -tags inprocess")
	return ""
}

func startInProcessBatch(b *testing.B, _ string) string {
	b.Fatal("in-process batch needs -tags inprocess")
	return ""
}
