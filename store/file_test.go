package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agoracluster/agora/store"
	"github.com/agoracluster/agora/store/storetest"
)

func TestFileStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := store.OpenFile(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestFileStoreSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []store.Version{0, 1, 2} {
		if _, err := s.Put(ctx, "frameworks/f1", []byte("data"), v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Put(ctx, "agents/a1", []byte("agent"), 0); err != nil {
		t.Fatal(err)
	}

	s2, err := store.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, v, err := s2.Get(ctx, "frameworks/f1")
	if err != nil || string(b) != "data" || v != 3 {
		t.Fatalf("after reopen Get = %q@%d, %v; want \"data\"@3", b, v, err)
	}
	if _, err := s2.Put(ctx, "frameworks/f1", []byte("new"), 2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale CAS after reopen: err = %v, want ErrConflict", err)
	}
	if v, err := s2.Put(ctx, "frameworks/f1", []byte("new"), 3); err != nil || v != 4 {
		t.Fatalf("CAS after reopen = %d, %v; want 4", v, err)
	}
	keys, err := s2.List(ctx, "agents/")
	if err != nil || len(keys) != 1 || keys[0] != "agents/a1" {
		t.Fatalf("List(agents/) = %q, %v", keys, err)
	}
}

func TestFileStoreLeavesNoTempFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Put(ctx, "a/b", []byte("x"), store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	// An interrupted write from an earlier process leaves a temp file behind.
	stale := filepath.Join(dir, "a", "b", "~tmp-123")
	if err := os.WriteFile(stale, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenFile(dir); err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(path, dir))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0] != "/a/b/~value" {
		t.Fatalf("files = %q, want only /a/b/~value", files)
	}
}

func TestFileStoreDeleteRemovesEmptyDirs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "x/y/z", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "x/y/z", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty directories left behind: %v", err)
	}
}

func TestFileStoreCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s, err := store.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "k"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "k", "~value"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Get(context.Background(), "k")
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `store: read "k": corrupt file`) {
		t.Fatalf("err = %v, want corrupt file error", err)
	}
	// Writes and deletes read only the header for the version; they refuse a corrupt one too.
	for _, content := range []string{"garbage", "agora-store-v1 x\nvalue", "agora-store-v1 " + strings.Repeat("1", 80)} {
		if err := os.WriteFile(filepath.Join(dir, "k", "~value"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(context.Background(), "k", []byte("v"), store.AnyVersion); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Put over %q: err = %v, want corrupt file error", content, err)
		}
		if err := s.Delete(context.Background(), "k", store.AnyVersion); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Delete of %q: err = %v, want corrupt file error", content, err)
		}
	}
}

func TestValidateKeyMessages(t *testing.T) {
	tests := []struct {
		key  string
		want string
	}{
		{key: "", want: `store: invalid key "": empty key`},
		{key: "a//b", want: `store: invalid key "a//b": empty segment`},
		{key: "a/../b", want: `store: invalid key "a/../b": segment ".." not allowed`},
		{key: "a/b c", want: `store: invalid key "a/b c": invalid character ' ' in segment "b c" (allowed: A-Z a-z 0-9 . _ : -)`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := store.ValidateKey(tt.key)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ValidateKey(%q) = %v, want %s", tt.key, err, tt.want)
			}
		})
	}
	if err := store.ValidateKey("agents/20231124-S1:x_y.z"); err != nil {
		t.Fatalf("valid key rejected: %v", err)
	}
}

func TestErrorMessages(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, "agents/a1"); err == nil || err.Error() != `store: not found: "agents/a1"` {
		t.Fatalf("Get error = %v", err)
	}
	if _, err := s.Put(ctx, "agents/a1", nil, 2); err == nil || err.Error() != `store: version conflict: "agents/a1" is at version 0, expected 2` {
		t.Fatalf("Put error = %v", err)
	}
	if _, err := s.Put(ctx, "agents/a1", nil, -2); err == nil || err.Error() != `store: invalid expected version -2` {
		t.Fatalf("Put error = %v", err)
	}
}
