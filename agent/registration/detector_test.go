package registration

import (
	"context"
	"net/url"
	"testing"
)

func TestMasterURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"m:5050", "http://m:5050/api/v1/agent"},
		{"http://m:5050", "http://m:5050/api/v1/agent"},
		{"http://m:5050/", "http://m:5050/api/v1/agent"},
		{"https://m", "https://m/api/v1/agent"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := MasterURL(tt.in)
			if err != nil || u.String() != tt.want {
				t.Fatalf("MasterURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
			}
		})
	}
}

func TestStaticDetector(t *testing.T) {
	d, err := NewStatic("m:5050")
	if err != nil {
		t.Fatal(err)
	}
	leader := &url.URL{Scheme: "http", Host: "leader:5050", Path: "/api/v1/agent"}
	tests := []struct {
		name     string
		previous *url.URL
		want     string
	}{
		{"first attempt: the configured master", nil, "http://m:5050/api/v1/agent"},
		{"afterwards: the master that answered (after redirects)", leader, "http://leader:5050/api/v1/agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := d.Detect(context.Background(), tt.previous)
			if err != nil || u.String() != tt.want {
				t.Fatalf("Detect = %v, %v; want %s", u, err, tt.want)
			}
		})
	}
	if _, err := NewStatic("ftp://m"); err == nil {
		t.Fatal("NewStatic accepted ftp://m")
	}
}
