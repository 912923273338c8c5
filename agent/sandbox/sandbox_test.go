package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateAndResolve(t *testing.T) {
	work := t.TempDir()
	dir := Path(work, "a", "f", "e", "c1")
	if err := Create(dir); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(RunsDir(work, "a", "f", "e"), "latest")); err != nil || target != "c1" {
		t.Fatalf("latest -> %q, %v", target, err)
	}
	// A second run moves latest.
	if err := Create(Path(work, "a", "f", "e", "c2")); err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(filepath.Join(RunsDir(work, "a", "f", "e"), "latest")); target != "c2" {
		t.Fatalf("latest -> %q after the second run, want c2", target)
	}
	if err := os.WriteFile(filepath.Join(work, "secret"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(work, "secret"), filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		outside bool
	}{
		{"the sandbox", dir, false},
		{"through latest", filepath.Join(RunsDir(work, "a", "f", "e"), "latest"), false},
		{"relative", "slaves/a", true},
		{"dot-dot to the root", filepath.Join(dir, "..", "..", "..", "..", "..", "..", ".."), false},
		{"dot-dot out", filepath.Join(dir, "..", "..", "..", "..", "..", "..", "..", "..", "secret"), true},
		{"symlink out", filepath.Join(dir, "escape"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(work, tt.path)
			if errors.Is(err, ErrOutside) != tt.outside || (!tt.outside && err != nil) {
				t.Fatalf("Resolve(%s) = %v, outside %v", tt.path, err, tt.outside)
			}
		})
	}
	dirs, err := ListDirs(RunsDir(work, "a", "f", "e"))
	if err != nil || len(dirs) != 2 || dirs[0] != "c1" || dirs[1] != "c2" {
		t.Fatalf("ListDirs = %v, %v; want [c1 c2] (no latest)", dirs, err)
	}
}
