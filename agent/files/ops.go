package files

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/agoracluster/agora/agent/sandbox"
)

// The files API as calls, for the operator API's LIST_FILES and READ_FILE: the
// same confinement to the sandboxes as the HTTP endpoints, with errors a caller
// maps to status codes.

// Errors of List and Read; each wrapped error's text names the path.
var (
	// ErrNotFound: no such file, or it lies outside every sandbox (the two are
	// not told apart, so that nothing outside leaks).
	ErrNotFound = errors.New("files: no such file or directory")
	// ErrNotDirectory: List of a file.
	ErrNotDirectory = errors.New("files: not a directory")
	// ErrIsDirectory: Read of a directory.
	ErrIsDirectory = errors.New("files: is a directory")
	// ErrPastEnd: Read from an offset beyond the file's end.
	ErrPastEnd = errors.New("files: offset beyond the end of the file")
	// ErrForbidden: the ACLs keep the sandbox from the caller (an Access's refusal).
	ErrForbidden = errors.New("files: forbidden")
)

// MaxReadLength caps the bytes one Read returns.
const MaxReadLength = maxReadLength

// List returns the entries of the sandbox directory p, sorted by path.
func List(workDir, p string) ([]FileInfo, error) {
	dir, err := sandbox.Resolve(workDir, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrNotDirectory, p)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("files: list %s: %w", p, err)
	}
	base := filepath.Clean(p)
	out := []FileInfo{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed while listing
		}
		out = append(out, fileInfo(filepath.Join(base, e.Name()), fi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Read returns up to length bytes (MaxReadLength at most; length <= 0 means as
// many as allowed) of the sandbox file p from offset, and the file's size. An
// offset equal to the size reads nothing (a reader following the file waits
// there); one beyond it is ErrPastEnd.
func Read(workDir, p string, offset, length int64) ([]byte, int64, error) {
	resolved, err := sandbox.Resolve(workDir, p)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	f, err := os.Open(resolved)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("files: read %s: %w", p, err)
	}
	if info.IsDir() {
		return nil, 0, fmt.Errorf("%w: %s", ErrIsDirectory, p)
	}
	size := info.Size()
	if offset < 0 {
		return nil, size, fmt.Errorf("%w: offset %d of %s is negative", ErrPastEnd, offset, p)
	}
	if offset > size {
		return nil, size, fmt.Errorf("%w: offset %d, but %s has %d bytes", ErrPastEnd, offset, p, size)
	}
	if length <= 0 || length > maxReadLength {
		length = maxReadLength
	}
	buf := make([]byte, min(length, size-offset))
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, size, fmt.Errorf("files: read %s: %w", p, err)
	}
	return buf[:n], size, nil
}
