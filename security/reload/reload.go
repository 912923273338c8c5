// Package reload keeps a value parsed from a file current: the file is read at start (a bad
// file then is an error), re-read when its size, modification time or content changes, and
// a bad edit is logged while the last good value stays in force.
package reload

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// File is a value of type T parsed from a file and kept current.
type File[T any] struct {
	path  string
	parse func([]byte) (T, error)
	log   *zap.Logger

	cur  atomic.Pointer[T]
	last []byte // the content of the value in force, or of the last bad edit logged
	info os.FileInfo
}

// Load reads and parses path; the error names the file.
func Load[T any](path string, parse func([]byte) (T, error), log *zap.Logger) (*File[T], error) {
	if log == nil {
		log = zap.NewNop()
	}
	f := &File[T]{path: path, parse: parse, log: log}
	data, info, err := read(path)
	if err != nil {
		return nil, err
	}
	v, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.cur.Store(&v)
	f.last, f.info = data, info
	return f, nil
}

// Static returns a File that always holds v (no file behind it).
func Static[T any](v T) *File[T] {
	f := &File[T]{}
	f.cur.Store(&v)
	return f
}

func read(path string) ([]byte, os.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, info, nil
}

// Get returns the value in force.
func (f *File[T]) Get() T { return *f.cur.Load() }

// Check re-reads the file if it changed and reports whether a new value is in force. A
// file that cannot be read or parsed is logged (once per bad content) and changes nothing.
func (f *File[T]) Check() bool {
	if f.path == "" {
		return false
	}
	info, err := os.Stat(f.path)
	if err != nil {
		f.log.Error("reload: cannot read the file; keeping the last good one", zap.String("path", f.path), zap.Error(err))
		return false
	}
	if f.info != nil && info.Size() == f.info.Size() && info.ModTime().Equal(f.info.ModTime()) {
		return false
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.log.Error("reload: cannot read the file; keeping the last good one", zap.String("path", f.path), zap.Error(err))
		return false
	}
	f.info = info
	if bytes.Equal(data, f.last) {
		return false
	}
	f.last = data
	v, err := f.parse(data)
	if err != nil {
		f.log.Error("reload: the file is invalid; keeping the last good one", zap.String("path", f.path), zap.Error(err))
		return false
	}
	f.cur.Store(&v)
	f.log.Info("reloaded", zap.String("path", f.path))
	return true
}

// Watch checks the file every interval until ctx ends.
func (f *File[T]) Watch(ctx context.Context, interval time.Duration) {
	if f.path == "" {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.Check()
		}
	}
}
