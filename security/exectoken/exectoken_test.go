package exectoken

import (
	"path/filepath"
	"testing"
)

func TestTokensAreBoundToTheExecutorAndSurviveRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta", "executor_token_key")
	s, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	tok := s.Token("fw-1", "ex-1")
	if !s.Verify(tok, "fw-1", "ex-1") {
		t.Fatal("a token does not verify for its executor")
	}
	for _, other := range [][2]string{{"fw-1", "ex-2"}, {"fw-2", "ex-1"}, {"fw-1ex-", "1"}} {
		if s.Verify(tok, other[0], other[1]) {
			t.Errorf("the token of fw-1/ex-1 verifies for %v", other)
		}
	}
	if s.Verify("not base64!", "fw-1", "ex-1") || s.Verify("", "fw-1", "ex-1") {
		t.Error("a malformed token verifies")
	}
	again, err := LoadOrCreate(path) // an agent restart
	if err != nil {
		t.Fatal(err)
	}
	if !again.Verify(tok, "fw-1", "ex-1") {
		t.Error("a token made before the restart does not verify after it")
	}
	other, err := LoadOrCreate(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	if other.Verify(tok, "fw-1", "ex-1") {
		t.Error("another agent's key verifies the token")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}
