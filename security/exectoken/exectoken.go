// Package exectoken is the agent's executor authentication (Mesos's
// --authenticate_http_executors): each executor gets a token bound to its framework and
// executor ids (MESOS_EXECUTOR_AUTHENTICATION_TOKEN), an HMAC under a key the agent keeps in
// its work dir, so tokens survive agent restarts and one task cannot act as another's
// executor.
package exectoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// keySize is the HMAC key's length in bytes.
const keySize = 32

// Signer makes and checks executor tokens.
type Signer struct{ key []byte }

// New returns a signer with key (at least 16 bytes).
func New(key []byte) (*Signer, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("exectoken: key of %d bytes, want at least 16", len(key))
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// LoadOrCreate reads the key at path, creating it (owner-only) with fresh random bytes when
// the file does not exist.
func LoadOrCreate(path string) (*Signer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, keySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("exectoken: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("exectoken: %w", err)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, key, 0o600); err != nil {
			return nil, fmt.Errorf("exectoken: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("exectoken: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("exectoken: %w", err)
	}
	return New(key)
}

// Token is the token of executor executorID of framework frameworkID.
func (s *Signer) Token(frameworkID, executorID string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(frameworkID, executorID))
}

func (s *Signer) mac(frameworkID, executorID string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(frameworkID))
	m.Write([]byte{0})
	m.Write([]byte(executorID))
	return m.Sum(nil)
}

// Verify reports whether token is the token of that executor.
func (s *Signer) Verify(token, frameworkID, executorID string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false
	}
	return hmac.Equal(got, s.mac(frameworkID, executorID))
}
