package client

import (
	"strings"
	"testing"
)

// FuzzErrorMessage: any error body renders without panicking, and a body with something
// in it never renders as nothing.
func FuzzErrorMessage(f *testing.F) {
	for _, s := range []string{
		`{"message":"Object is not valid","details":[{"path":"/cpus","errors":["must be positive"]}]}`,
		`{"message":"x"}`, `{"error":"y"}`, `{"details":[{"path":"/a","errors":[]}]}`, "plain text\n", `null`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if msg := errorMessage(body); strings.TrimSpace(string(body)) != "" && msg == "" {
			t.Fatalf("errorMessage(%q) = \"\"", body)
		}
	})
}
