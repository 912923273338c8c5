package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Version is the version of a key's value: 0 means the key is absent, 1 is
// the first value written, and each Put adds one.
type Version int64

// AnyVersion, as the expected version of Put or Delete, skips the
// compare-and-set check.
const AnyVersion Version = -1

// Sentinel errors, matched with errors.Is; returned errors add the key.
var (
	ErrNotFound   = errors.New("store: not found")
	ErrConflict   = errors.New("store: version conflict")
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrCorrupt: what is stored under a key is not a store entry
	// (corrupt, or written by someone else); nothing is overwritten.
	ErrCorrupt = errors.New("store: corrupt entry")
	// ErrTooLarge: the value exceeds what the backend can hold in one
	// entry (ZooKeeper: 1 MiB); nothing was written.
	ErrTooLarge = errors.New("store: value too large")
	// ErrFenced: a fenced store's writer is no longer the leader (its
	// election znode is gone); nothing was written.
	ErrFenced = errors.New("store: fenced: no longer the leader")
)

// Store is a durable key/value store with compare-and-set versions.
// Implementations are safe for concurrent use.
type Store interface {
	// Get returns the value and version of key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, Version, error)
	// Put writes value under key if the key is at version expected (0 =
	// the key must be absent; AnyVersion = no check) and returns the new
	// version; on a mismatch it returns ErrConflict and changes nothing.
	Put(ctx context.Context, key string, value []byte, expected Version) (Version, error)
	// Delete removes key if it is at version expected (AnyVersion = no
	// check); ErrNotFound if it is absent, ErrConflict on a mismatch.
	Delete(ctx context.Context, key string, expected Version) error
	// List returns the keys directly under prefix ("agents" lists
	// "agents/a1", "agents/a2", not "agents/a1/x"), as full keys, sorted.
	// An empty prefix lists top-level keys; a prefix with no keys under it
	// gives an empty list.
	List(ctx context.Context, prefix string) ([]string, error)
}

// ValidateKey reports whether key is a valid key: non-empty '/'-separated
// segments of [A-Za-z0-9._:-], none of them "." or "..".
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w %q: empty key", ErrInvalidKey, key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if problem := checkSegment(seg); problem != "" {
			return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, problem)
		}
	}
	return nil
}

// ValidatePrefix reports whether prefix is valid for List: "" or a valid
// key, optionally with a trailing '/'. It returns the prefix without the
// trailing slash.
func ValidatePrefix(prefix string) (string, error) {
	p := strings.TrimSuffix(prefix, "/")
	if p == "" && prefix == "" {
		return "", nil
	}
	if err := ValidateKey(p); err != nil {
		return "", err
	}
	return p, nil
}

// checkSegment returns what is wrong with one key segment, or "".
func checkSegment(seg string) string {
	switch seg {
	case "":
		return "empty segment"
	case ".", "..":
		return fmt.Sprintf("segment %q not allowed", seg)
	}
	for i := 0; i < len(seg); i++ {
		if !validKeyByte(seg[i]) {
			return fmt.Sprintf("invalid character %q in segment %q (allowed: A-Z a-z 0-9 . _ : -)", seg[i], seg)
		}
	}
	return ""
}

func validKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '-'
}
