package zookeeper_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agoracluster/agora/zookeeper"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want zookeeper.URL
	}{
		{"zk://h1:2181/agora", zookeeper.URL{Hosts: []string{"h1:2181"}, Path: "/agora"}},
		{"zk://h1:2181,h2:2182,10.0.0.3/mesos/agora/", zookeeper.URL{Hosts: []string{"h1:2181", "h2:2182", "10.0.0.3:2181"}, Path: "/mesos/agora"}},
		{"ZK://h1/agora", zookeeper.URL{Hosts: []string{"h1:2181"}, Path: "/agora"}},
		{"zk://[::1]:2182,[fe80::1]/a", zookeeper.URL{Hosts: []string{"[::1]:2182", "[fe80::1]:2181"}, Path: "/a"}},
		{"zk://jo:s3cr:t@h1:2181/agora", zookeeper.URL{Hosts: []string{"h1:2181"}, Path: "/agora", User: "jo", Password: "s3cr:t"}},
		{"zk://jo:p@ss@h1:2181/agora", zookeeper.URL{Hosts: []string{"h1:2181"}, Path: "/agora", User: "jo", Password: "p@ss"}},
		{"zk://h1:2181/a@b/c", zookeeper.URL{Hosts: []string{"h1:2181"}, Path: "/a@b/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := zookeeper.ParseURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Hosts, tt.want.Hosts) || got.Path != tt.want.Path || got.User != tt.want.User || got.Password != tt.want.Password {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "must start with zk://"},
		{"h1:2181/agora", "must start with zk://"},
		{"http://h1/agora", "must start with zk://"},
		{"zk:///agora", "no hosts"},
		{"zk://", "no hosts"},
		{"zk://u:p@/agora", "no hosts"},
		{"zk://h1:2181", "no path"},
		{"zk://h1:2181/", "path: empty"},
		{"zk://h1:2181//", "path: empty segment"},
		{"zk://h1:2181/a//b", "empty segment"},
		{"zk://h1:2181/a/../b", `segment ".." not allowed`},
		{"zk://h1:2181/a/\x00", "invalid character"},
		{"zk://h1:99999/a", `host 1 "h1:99999": bad port "99999"`},
		{"zk://h1:0/a", `bad port "0"`},
		{"zk://h1:2181,h2:x/a", `host 2 "h2:x": bad port "x"`},
		{"zk://h1:/a", `bad port ""`},
		{"zk://h1,,h2/a", `host 2 "": empty host`},
		{"zk://:2181/a", "empty host name"},
		{"zk://::1:2181/a", "IPv6 addresses must be in brackets"},
		{"zk://[::1/a", "missing ']'"},
		{"zk://user@h1/a", "credentials must be user:password"},
		{"zk://:pw@h1/a", "credentials: empty user"},
		{"zk://u:@h1/a", "credentials: empty password"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := zookeeper.ParseURL(tt.in)
			if err == nil || !errors.Is(err, zookeeper.ErrBadURL) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadURL with %q", err, tt.want)
			}
		})
	}
}

func TestParseURLErrorHidesPassword(t *testing.T) {
	_, err := zookeeper.ParseURL("zk://jo:hunter2@h1:0/a")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "jo:xxxxx@") {
		t.Fatalf("err = %v, want the password redacted", err)
	}
}

func TestURLStringRedactedJoin(t *testing.T) {
	u, err := zookeeper.ParseURL("zk://jo:pw@h1,h2:2182/agora")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.String(), "zk://jo:pw@h1:2181,h2:2182/agora"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := u.Redacted(), "zk://jo:xxxxx@h1:2181,h2:2182/agora"; got != want {
		t.Errorf("Redacted = %q, want %q", got, want)
	}
	j, err := u.Join("/registry/")
	if err != nil || j.Path != "/agora/registry" || u.Path != "/agora" {
		t.Errorf("Join = %+v, %v (original %q)", j, err, u.Path)
	}
	if _, err := u.Join("a/../b"); err == nil {
		t.Error("Join(a/../b): want an error")
	}
	if !zookeeper.IsURL("ZK://h/a") || zookeeper.IsURL("h:5050") {
		t.Error("IsURL")
	}
}

func TestLoadURL(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "zk")
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte("zk://jo:pw@h1:2181,h2/agora\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("h1:2181"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := zookeeper.LoadURL("file://" + good)
	if err != nil || u.String() != "zk://jo:pw@h1:2181,h2:2181/agora" {
		t.Fatalf("LoadURL(file) = %v, %v", u, err)
	}
	if u, err := zookeeper.LoadURL("zk://h/a"); err != nil || u.Path != "/a" {
		t.Fatalf("LoadURL(zk) = %v, %v", u, err)
	}
	for in, want := range map[string]string{
		"file://" + filepath.Join(dir, "missing"): "no such file",
		"file://" + bad: "file://" + bad + `: zookeeper: bad zk:// URL "h1:2181": must start with zk://`,
	} {
		if _, err := zookeeper.LoadURL(in); !errors.Is(err, zookeeper.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadURL(%q) = %v, want %q", in, err, want)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"zk://h1:2181/agora", "zk://u:p@h1,h2:2/a/b", "zk://[::1]:1/x", "zk://h1:99999/a", "zk://h//a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := zookeeper.ParseURL(s)
		if err != nil {
			if !errors.Is(err, zookeeper.ErrBadURL) {
				t.Fatalf("error %v does not wrap ErrBadURL", err)
			}
			return
		}
		if len(u.Hosts) == 0 || !strings.HasPrefix(u.Path, "/") || u.Path == "/" || strings.HasSuffix(u.Path, "/") {
			t.Fatalf("ParseURL(%q) = %+v: bad hosts or path", s, u)
		}
		again, err := zookeeper.ParseURL(u.String())
		if err != nil {
			t.Fatalf("ParseURL(String() = %q): %v", u.String(), err)
		}
		if !slices.Equal(again.Hosts, u.Hosts) || again.Path != u.Path || again.User != u.User || again.Password != u.Password {
			t.Fatalf("round trip of %q: %+v != %+v", s, again, u)
		}
	})
}
