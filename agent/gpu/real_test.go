package gpu

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestRealGPU checks detection against the host's GPUs. It runs only with
// AGORA_TEST_REAL_GPU=1, and then a host without GPUs fails it. It needs no source tree:
// `CGO_ENABLED=0 go test -c -o bin/gpu.test ./agent/gpu/ && AGORA_TEST_REAL_GPU=1 bin/gpu.test -test.run TestRealGPU -test.v`.
func TestRealGPU(t *testing.T) {
	if os.Getenv("AGORA_TEST_REAL_GPU") != "1" {
		t.Skip("AGORA_TEST_REAL_GPU=1 runs it on a host with NVIDIA GPUs")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	devs, err := SMI{}.Detect(ctx)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if len(devs) == 0 {
		t.Fatal("Detect found no GPU on a host said to have one")
	}
	for _, d := range devs {
		t.Logf("detected GPU %s", d)
		if d.UUID == "" || d.MemoryMiB == 0 || d.Major < 0 || d.Minor < 0 {
			t.Errorf("incomplete device %+v", d)
		}
		if _, err := os.Stat(d.Path); err != nil {
			t.Errorf("device file: %v", err)
		}
	}
	a := NewAllocator(devs)
	got, err := a.Allocate("real", len(devs))
	if err != nil || len(got) != len(devs) {
		t.Fatalf("Allocate all: %v, %v", got, err)
	}
	if _, err := a.Allocate("other", 1); err == nil {
		t.Fatal("allocated a GPU twice")
	}
	t.Logf("env of a container with every GPU: %v", a.Env(got))
}
