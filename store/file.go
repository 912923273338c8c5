package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// On disk, key "a/b" is the directory <dir>/a/b holding the file "~value";
// '~' cannot appear in a key, so a key can have both a value and children
// (as a ZooKeeper node can) and internal files never collide with keys.
// The value file starts with a header line carrying the version.
const (
	valueFile    = "~value"
	tempPrefix   = "~tmp-"
	headerPrefix = "agora-store-v1 "
)

// FileStore is a Store in a local directory. Writes are atomic and
// durable (temp file, fsync, rename, fsync of the directory) and versions
// are kept in the files, so they survive restarts. It is safe for
// concurrent use by the goroutines of one process, and writes of different
// keys proceed side by side (their fsyncs share the file system's journal
// commits); two processes must not share a directory.
type FileStore struct {
	dir string
	// mu is held shared by reads and writes, exclusively by the removal of the
	// directories a delete leaves empty (which a write could be creating files in).
	mu sync.RWMutex
	// keys serialise the writes of one key (by a hash of it): version checks hold.
	keys [64]sync.Mutex
}

// keyLock is the lock of key's writes.
func (s *FileStore) keyLock(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &s.keys[h.Sum32()%uint32(len(s.keys))]
}

var _ Store = (*FileStore)(nil)

// OpenFile opens (creating it if needed) a FileStore in dir and removes
// temp files left over by an interrupted write.
func OpenFile(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("store: open: empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), tempPrefix) {
			return os.Remove(path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: open: clean temp files: %w", err)
	}
	return &FileStore{dir: abs}, nil
}

// Dir returns the directory of the store.
func (s *FileStore) Dir() string { return s.dir }

func (s *FileStore) keyDir(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// Get implements Store.
func (s *FileStore) Get(ctx context.Context, key string) ([]byte, Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	value, v, err := s.read(key)
	if err != nil {
		return nil, 0, err
	}
	if v == 0 {
		return nil, 0, fmt.Errorf("%w: %q", ErrNotFound, key)
	}
	return value, v, nil
}

// read returns the value and version of key, version 0 if it is absent.
func (s *FileStore) read(key string) ([]byte, Version, error) {
	b, err := os.ReadFile(filepath.Join(s.keyDir(key), valueFile))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: read %q: %w", key, err)
	}
	header, value, ok := bytes.Cut(b, []byte{'\n'})
	if !ok || !bytes.HasPrefix(header, []byte(headerPrefix)) {
		return nil, 0, fmt.Errorf("store: read %q: corrupt file: bad header (%w)", key, ErrCorrupt)
	}
	v, err := parseVersion(key, header)
	if err != nil {
		return nil, 0, err
	}
	return value, v, nil
}

// version returns the version of key (0 if it is absent) from its value file's header
// alone: a write checks the version without reading a value it is about to replace.
func (s *FileStore) version(key string) (Version, error) {
	f, err := os.Open(filepath.Join(s.keyDir(key), valueFile))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: read %q: %w", key, err)
	}
	defer f.Close()
	var head [64]byte // the header line: the prefix, at most 19 digits and '\n'
	n, err := io.ReadFull(f, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("store: read %q: %w", key, err)
	}
	header, _, ok := bytes.Cut(head[:n], []byte{'\n'})
	if !ok || !bytes.HasPrefix(header, []byte(headerPrefix)) {
		return 0, fmt.Errorf("store: read %q: corrupt file: bad header (%w)", key, ErrCorrupt)
	}
	return parseVersion(key, header)
}

// parseVersion reads the version from a value file's header line.
func parseVersion(key string, header []byte) (Version, error) {
	v, err := strconv.ParseInt(string(header[len(headerPrefix):]), 10, 64)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("store: read %q: corrupt file: bad version %q (%w)", key, header[len(headerPrefix):], ErrCorrupt)
	}
	return Version(v), nil
}

func checkExpected(expected Version) error {
	if expected < AnyVersion {
		return fmt.Errorf("store: invalid expected version %d", expected)
	}
	return nil
}

// Put implements Store.
func (s *FileStore) Put(ctx context.Context, key string, value []byte, expected Version) (Version, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	if err := checkExpected(expected); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	kl := s.keyLock(key)
	kl.Lock()
	defer kl.Unlock()
	cur, err := s.version(key)
	if err != nil {
		return 0, err
	}
	if expected != AnyVersion && expected != cur {
		return 0, fmt.Errorf("%w: %q is at version %d, expected %d", ErrConflict, key, cur, expected)
	}
	next := cur + 1
	if err := s.write(key, value, next); err != nil {
		return 0, fmt.Errorf("store: write %q: %w", key, err)
	}
	return next, nil
}

// write replaces the value file of key atomically and durably.
func (s *FileStore) write(key string, value []byte, v Version) error {
	dir := s.keyDir(key)
	created, err := s.mkdirs(dir)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	header := headerPrefix + strconv.FormatInt(int64(v), 10) + "\n"
	if _, err := f.WriteString(header); err != nil {
		return err
	}
	if _, err := f.Write(value); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, valueFile)); err != nil {
		return err
	}
	ok = true
	// Make the rename durable, and the directories created for it.
	for _, d := range append([]string{dir}, created...) {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// mkdirs creates dir and its missing parents below s.dir and returns the
// parents of the directories it created, which must be synced.
func (s *FileStore) mkdirs(dir string) ([]string, error) {
	var missing []string
	for d := dir; d != s.dir; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	var parents []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		parents = append(parents, filepath.Dir(missing[i]))
	}
	return parents, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Delete implements Store.
func (s *FileStore) Delete(ctx context.Context, key string, expected Version) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := checkExpected(expected); err != nil {
		return err
	}
	dir := s.keyDir(key)
	if err := s.deleteValue(key, dir, expected); err != nil {
		return err
	}
	// Remove directories left empty, up to the store's root, while no write runs.
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := dir; d != s.dir; d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// deleteValue removes key's value file, checking its version.
func (s *FileStore) deleteValue(key, dir string, expected Version) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	kl := s.keyLock(key)
	kl.Lock()
	defer kl.Unlock()
	cur, err := s.version(key)
	if err != nil {
		return err
	}
	if cur == 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, key)
	}
	if expected != AnyVersion && expected != cur {
		return fmt.Errorf("%w: %q is at version %d, expected %d", ErrConflict, key, cur, expected)
	}
	if err := os.Remove(filepath.Join(dir, valueFile)); err != nil {
		return fmt.Errorf("store: delete %q: %w", key, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("store: delete %q: %w", key, err)
	}
	return nil
}

// List implements Store.
func (s *FileStore) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := ValidatePrefix(prefix)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	dir := s.dir
	if p != "" {
		dir = s.keyDir(p)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: list %q: %w", prefix, err)
	}
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		if !e.IsDir() || checkSegment(e.Name()) != "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, e.Name(), valueFile)); err != nil {
			continue
		}
		if p == "" {
			keys = append(keys, e.Name())
		} else {
			keys = append(keys, p+"/"+e.Name())
		}
	}
	return keys, nil // os.ReadDir sorts by name, so keys are sorted
}
