package reload

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

func parseInt(data []byte) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, errors.New("not a number")
	}
	return n, nil
}

func write(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestLoadReloadsGoodEditsAndKeepsTheLastGoodValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n")
	t0 := time.Unix(1_000_000, 0)
	write(t, path, "1", t0)
	f, err := Load(path, parseInt, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if f.Get() != 1 || f.Check() {
		t.Fatalf("Get = %d; an unchanged file reloaded", f.Get())
	}
	write(t, path, "2", t0.Add(time.Second))
	if !f.Check() || f.Get() != 2 {
		t.Fatalf("after an edit: Get = %d", f.Get())
	}
	write(t, path, "two", t0.Add(2*time.Second))
	if f.Check() || f.Get() != 2 {
		t.Fatalf("a bad edit replaced the value: %d", f.Get())
	}
	write(t, path, "3", t0.Add(2*time.Second)) // same size and time, new content: still seen next change
	write(t, path, "33", t0.Add(3*time.Second))
	if !f.Check() || f.Get() != 33 {
		t.Fatalf("after fixing the file: Get = %d", f.Get())
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if f.Check() || f.Get() != 33 {
		t.Fatal("a removed file changed the value")
	}
}

func TestLoadNamesTheBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n")
	write(t, path, "x", time.Now())
	if _, err := Load(path, parseInt, nil); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a number") {
		t.Fatalf("Load = %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing"), parseInt, nil); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}
