package api

import (
	"net/http/httptest"
	"testing"
)

func TestCleanPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"//", "/"},
		{"/v2/apps", "/v2/apps"},
		{"/v2/apps/", "/v2/apps"},
		{"/v2/apps//smoke-http", "/v2/apps/smoke-http"},
		{"//v2///apps//a//b/", "/v2/apps/a/b"},
		{"/v2/apps/a/../b", "/v2/apps/a/../b"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := cleanPath(tc.in); got != tc.want {
				t.Fatalf("cleanPath(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestBoolParam(t *testing.T) {
	tests := []struct {
		query string
		want  bool
	}{
		{"", false},
		{"force=true", true},
		{"force=True", true},
		{"force=TRUE", true},
		{"force=1", true},
		{"force=False", false},
		{"force=false", false},
		{"force=yes", false},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v2/apps?"+tc.query, nil)
			if got := boolParam(req, "force"); got != tc.want {
				t.Fatalf("boolParam(%q) = %v; want %v", tc.query, got, tc.want)
			}
		})
	}
}
