// Package benchtest supports Agora's end-to-end benchmarks (integration/bench_test.go): a
// framework scheduler built on the SDK that stamps when each task reaches each state, a
// master and agent run inside the benchmark process (so that `go test -cpuprofile` sees
// them), and memory figures of process trees read from /proc.
package benchtest
