package fetcher

import (
	"archive/tar"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtractTar feeds arbitrary bytes as a .tar archive: extraction may fail, but it must
// never write outside the sandbox or leave a symlink that points out of it.
func FuzzExtractTar(f *testing.F) {
	f.Add(tarBytes(f, entry{name: "a/b.txt", body: "x"}))
	f.Add(tarBytes(f, entry{name: "../evil", body: "x"}))
	f.Add(tarBytes(f, entry{name: "l", typ: tar.TypeSymlink, link: "../../x"}))
	f.Add(tarBytes(f, entry{name: "self", typ: tar.TypeSymlink, link: "."}, entry{name: "self/l", typ: tar.TypeSymlink, link: ".."}))
	f.Add(tarBytes(f, entry{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}))
	f.Fuzz(func(t *testing.T, archive []byte) {
		parent := t.TempDir()
		sandbox := filepath.Join(parent, "sandbox")
		if err := os.Mkdir(sandbox, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sandbox, "in.tar"), archive, 0o644); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(sandbox)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		fe := &fetch{root: root, opts: Options{MaxBytes: 1 << 20}}
		_ = fe.extract(context.Background(), "in.tar")

		des, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(des) != 1 {
			t.Fatalf("extraction wrote next to the sandbox: %d entries", len(des))
		}
		_ = filepath.WalkDir(sandbox, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			target, _ := os.Readlink(p)
			resolved := filepath.Clean(filepath.Join(filepath.Dir(p), target))
			if filepath.IsAbs(target) || !strings.HasPrefix(resolved+"/", sandbox+"/") {
				t.Errorf("symlink %s -> %s escapes the sandbox", p, target)
			}
			return nil
		})
	})
}
