// Package credentials reads Mesos's credentials files (--credentials, --credential):
// principal/secret pairs as JSON ({"credentials": [{"principal": …, "secret": …}]}) or as
// text, one "principal secret" pair per line, and checks a principal's secret in constant
// time.
package credentials

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Credential is one principal and its secret.
type Credential struct {
	Principal string `json:"principal"`
	Secret    string `json:"secret"`
}

// Parse reads a credentials file in either of Mesos's formats. A file with no credential,
// a principal without a secret, a principal listed twice or a principal with whitespace or
// a ':' in it (it could not be sent with HTTP Basic) is an error naming the line or entry.
func Parse(data []byte) ([]Credential, error) {
	trimmed := bytes.TrimSpace(data)
	var creds []Credential
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var doc struct {
			Credentials []Credential `json:"credentials"`
		}
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("credentials: JSON: %w", err)
		}
		creds = doc.Credentials
	} else {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			fields := strings.Fields(line)
			if len(fields) != 2 {
				return nil, fmt.Errorf("credentials: line %d: want \"principal secret\", got %d fields", n, len(fields))
			}
			creds = append(creds, Credential{Principal: fields[0], Secret: fields[1]})
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
	}
	if len(creds) == 0 {
		return nil, errors.New("credentials: the file holds no credential")
	}
	if err := validate(creds); err != nil {
		return nil, err
	}
	return creds, nil
}

// validate names every bad entry of creds.
func validate(creds []Credential) error {
	seen := map[string]bool{}
	var errs []error
	for i, c := range creds {
		switch {
		case c.Principal == "":
			errs = append(errs, fmt.Errorf("credentials: entry %d: empty principal", i+1))
		case strings.ContainsAny(c.Principal, ": \t\r\n"):
			errs = append(errs, fmt.Errorf("credentials: principal %q: must not hold ':' or whitespace", c.Principal))
		case c.Secret == "":
			errs = append(errs, fmt.Errorf("credentials: principal %q: empty secret", c.Principal))
		case seen[c.Principal]:
			errs = append(errs, fmt.Errorf("credentials: principal %q: listed twice", c.Principal))
		}
		seen[c.Principal] = true
	}
	return errors.Join(errs...)
}

// ParseOne reads a file that must hold exactly one credential (an agent's or a framework's
// --credential): Mesos's {"principal": …, "secret": …}, or either format of Parse.
func ParseOne(data []byte) (Credential, error) {
	var one Credential
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if dec.Decode(&one) == nil {
		if one.Principal == "" || one.Secret == "" {
			return Credential{}, errors.New("credentials: want a non-empty \"principal\" and \"secret\"")
		}
		if err := validate([]Credential{one}); err != nil {
			return Credential{}, err
		}
		return one, nil
	}
	creds, err := Parse(data)
	if err != nil {
		return Credential{}, err
	}
	if len(creds) != 1 {
		return Credential{}, fmt.Errorf("credentials: want one credential, the file holds %d", len(creds))
	}
	return creds[0], nil
}

// Set is the credentials a server accepts.
type Set struct {
	secrets map[string][sha256.Size]byte // principal → the secret's digest
}

// NewSet returns the set of creds.
func NewSet(creds []Credential) *Set {
	s := &Set{secrets: make(map[string][sha256.Size]byte, len(creds))}
	for _, c := range creds {
		s.secrets[c.Principal] = sha256.Sum256([]byte(c.Secret))
	}
	return s
}

// ParseSet is Parse, then NewSet.
func ParseSet(data []byte) (*Set, error) {
	creds, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return NewSet(creds), nil
}

// Check reports whether secret is principal's, in time that does not depend on how much
// of it is right.
func (s *Set) Check(principal, secret string) bool {
	want, ok := s.secrets[principal]
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1 && ok
}

// Len is how many principals the set holds.
func (s *Set) Len() int { return len(s.secrets) }
