package batch

import (
	"os"
	"testing"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

// TestExamples keeps the README's example job and schedule valid.
func TestExamples(t *testing.T) {
	b, err := os.ReadFile("../../examples/batch-hello.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.DecodeSpec(b); err != nil {
		t.Fatalf("examples/batch-hello.json: %v", err)
	}
	b, err = os.ReadFile("../../examples/batch-nightly.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := job.DecodeSchedule(b); err != nil {
		t.Fatalf("examples/batch-nightly.json: %v", err)
	}
}
