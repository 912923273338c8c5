package fetcher

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// archiveKind is how a fetched file is unpacked.
type archiveKind int

const (
	notArchive archiveKind = iota
	kindTar
	kindTarGz
	kindTarBz2
	kindTarXz
	kindZip
	kindGz
)

// kindOf recognizes an archive by its file name, as the Mesos fetcher does.
func kindOf(name string) archiveKind {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return kindTarGz
	case strings.HasSuffix(n, ".tar.bz2"), strings.HasSuffix(n, ".tbz2"):
		return kindTarBz2
	case strings.HasSuffix(n, ".tar.xz"), strings.HasSuffix(n, ".txz"):
		return kindTarXz
	case strings.HasSuffix(n, ".tar"):
		return kindTar
	case strings.HasSuffix(n, ".zip"):
		return kindZip
	case strings.HasSuffix(n, ".gz"):
		return kindGz
	}
	return notArchive
}

// extract unpacks the fetched file name (a sandbox-relative path) into the sandbox; files
// that are not archives are left alone.
func (f *fetch) extract(ctx context.Context, name string) error {
	kind := kindOf(name)
	if kind == notArchive {
		return nil
	}
	if kind == kindTarXz {
		return fmt.Errorf("%w: xz archives", ErrUnsupported)
	}
	file, err := f.root.Open(name)
	if err != nil {
		return err
	}
	defer file.Close()
	u := &unpacker{ctx: ctx, root: f.root, budget: f.opts.MaxBytes}
	switch kind {
	case kindTar:
		err = u.tar(file)
	case kindTarGz:
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(file); err == nil {
			err = u.tar(zr)
		}
	case kindTarBz2:
		err = u.tar(bzip2.NewReader(file))
	case kindZip:
		err = u.zip(file)
	case kindGz:
		err = u.gunzip(file, strings.TrimSuffix(name, path.Ext(name)))
	}
	if err != nil {
		return fmt.Errorf("extract %s: %w", name, err)
	}
	return nil
}

// unpacker writes archive entries into the sandbox root, refusing anything that would land
// outside it.
type unpacker struct {
	ctx    context.Context
	root   *os.Root
	budget int64 // bytes left to write; unlimited when the limit was 0
	used   int64
}

// entryName validates an archive entry's name and checks that no directory on its way is a
// symlink (which would make the lexical checks below meaningless).
func (u *unpacker) entryName(name string) (string, error) {
	clean, err := sandboxName(strings.TrimPrefix(name, "./"))
	if err != nil {
		return "", fmt.Errorf("entry %w", err)
	}
	dir := path.Dir(clean)
	for dir != "." {
		st, err := u.root.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return "", err
		case st.Mode()&fs.ModeSymlink != 0:
			return "", fmt.Errorf("entry %q: path goes through symlink %q", name, dir)
		}
		dir = path.Dir(dir)
	}
	return clean, nil
}

// prepare creates name's parent directories and removes a non-directory already at name.
func (u *unpacker) prepare(name string) error {
	if dir := path.Dir(name); dir != "." {
		if err := u.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	st, err := u.root.Lstat(name)
	if err == nil && !st.IsDir() {
		return u.root.Remove(name)
	}
	return nil
}

func (u *unpacker) mkdir(name string, perm fs.FileMode) error {
	err := u.root.MkdirAll(name, perm|0o700)
	if err != nil {
		return err
	}
	return u.root.Chmod(name, perm|0o700)
}

func (u *unpacker) writeFile(name string, r io.Reader, perm fs.FileMode) error {
	if err := u.prepare(name); err != nil {
		return err
	}
	out, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	limit := int64(0)
	if u.budget > 0 {
		limit = u.budget - u.used
		if limit <= 0 {
			out.Close()
			return errTooLarge
		}
	}
	n, err := copyLimited(u.ctx, out, r, limit)
	u.used += n
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return u.root.Chmod(name, perm)
}

// symlink creates name -> target where target is relative and resolves inside the sandbox.
func (u *unpacker) symlink(name, target string) error {
	if target == "" || path.IsAbs(target) {
		return fmt.Errorf("symlink %q -> %q: target must be relative", name, target)
	}
	resolved := path.Join(path.Dir(name), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("symlink %q -> %q: target escapes the sandbox", name, target)
	}
	if err := u.prepare(name); err != nil {
		return err
	}
	return u.root.Symlink(target, name)
}

func (u *unpacker) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, err := u.entryName(h.Name)
		if err != nil {
			if h.Typeflag == tar.TypeDir && strings.Trim(h.Name, "./") == "" {
				continue // the archive's own root "./"
			}
			return err
		}
		perm := fs.FileMode(h.Mode) & fs.ModePerm
		switch h.Typeflag {
		case tar.TypeDir:
			err = u.mkdir(name, perm)
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use TypeRegA
			err = u.writeFile(name, tr, perm)
		case tar.TypeSymlink:
			err = u.symlink(name, h.Linkname)
		case tar.TypeLink:
			var target string
			if target, err = u.entryName(h.Linkname); err == nil {
				if err = u.prepare(name); err == nil {
					err = u.root.Link(target, name)
				}
			}
		default:
			// devices, fifos and the like are never created in a sandbox
		}
		if err != nil {
			return err
		}
	}
}

func (u *unpacker) zip(file *os.File) error {
	st, err := file.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(file, st.Size())
	if err != nil {
		return err
	}
	for _, zf := range zr.File {
		if err := u.zipEntry(zf); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) zipEntry(zf *zip.File) error {
	mode := zf.Mode()
	if mode.IsDir() && strings.Trim(zf.Name, "./") == "" {
		return nil
	}
	name, err := u.entryName(zf.Name)
	if err != nil {
		return err
	}
	perm := mode & fs.ModePerm
	switch {
	case mode.IsDir():
		return u.mkdir(name, perm)
	case mode&fs.ModeSymlink != 0:
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		target, err := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		if err != nil {
			return err
		}
		return u.symlink(name, string(target))
	case mode.IsRegular():
		if perm == 0 {
			perm = 0o644
		}
		rc, err := zf.Open()
		if err != nil {
			return err
		}
		defer rc.Close()
		return u.writeFile(name, rc, perm)
	}
	return nil
}

// gunzip decompresses a plain .gz file into target (its name without ".gz").
func (u *unpacker) gunzip(file *os.File, target string) error {
	zr, err := gzip.NewReader(file)
	if err != nil {
		return err
	}
	defer zr.Close()
	name, err := sandboxName(target)
	if err != nil {
		return err
	}
	return u.writeFile(name, zr, 0o644)
}
