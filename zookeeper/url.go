package zookeeper

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// DefaultPort is the port of a host given without one.
const DefaultPort = 2181

// ErrBadURL is wrapped by every error of ParseURL.
var ErrBadURL = errors.New("zookeeper: bad zk:// URL")

// URL is a parsed zk://[user:password@]host1:port1,host2:port2/path.
type URL struct {
	// Hosts are the ensemble's "host:port" addresses, in the order given.
	Hosts []string
	// Path is the znode path under which the user of the URL works
	// ("/agora"): absolute, without a trailing slash, never "/".
	Path string
	// User and Password are the digest credentials; both empty when the
	// URL has none.
	User, Password string
}

// ParseURL parses a zk:// URL. Credentials end at the last '@' before the
// path (a password cannot contain '/'); hosts default to port 2181 and IPv6
// hosts are written in brackets ("[::1]:2181"). The error names what is
// wrong and wraps ErrBadURL.
func ParseURL(s string) (URL, error) {
	bad := func(format string, args ...any) (URL, error) {
		return URL{}, fmt.Errorf("%w %q: %s", ErrBadURL, redact(s), fmt.Sprintf(format, args...))
	}
	const scheme = "zk://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return bad("must start with %s (e.g. zk://host1:2181,host2:2181/agora)", scheme)
	}
	rest := s[len(scheme):]
	authority, path, hasPath := strings.Cut(rest, "/")
	var u URL
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		creds := authority[:at]
		authority = authority[at+1:]
		user, password, ok := strings.Cut(creds, ":")
		switch {
		case !ok:
			return bad("credentials must be user:password")
		case user == "":
			return bad("credentials: empty user")
		case password == "":
			return bad("credentials: empty password")
		}
		u.User, u.Password = user, password
	}
	if authority == "" {
		return bad("no hosts")
	}
	for i, h := range strings.Split(authority, ",") {
		addr, err := parseHost(h)
		if err != nil {
			return bad("host %d %q: %v", i+1, h, err)
		}
		u.Hosts = append(u.Hosts, addr)
	}
	if !hasPath {
		return bad("no path (e.g. zk://%s/agora)", authority)
	}
	p, err := cleanPath("/" + path)
	if err != nil {
		return bad("path: %v", err)
	}
	u.Path = p
	return u, nil
}

// LoadURL parses s as ParseURL does, and also accepts Mesos's
// file:///path/to/file, a file whose content (surrounding space trimmed)
// is the zk:// URL, which keeps credentials off the command line.
func LoadURL(s string) (URL, error) {
	name, ok := strings.CutPrefix(s, "file://")
	if !ok {
		return ParseURL(s)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return URL{}, fmt.Errorf("%w: read %s: %v", ErrBadURL, s, err)
	}
	u, err := ParseURL(strings.TrimSpace(string(b)))
	if err != nil {
		return URL{}, fmt.Errorf("%s: %w", s, err)
	}
	return u, nil
}

// parseHost returns host[:port] as "host:port" with the default port.
func parseHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("empty host")
	}
	host, port := h, strconv.Itoa(DefaultPort)
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
		if strings.HasPrefix(h, "[") && !strings.Contains(h, "]:") {
			h += ":" + port // "[::1]" without a port
		}
		var err error
		if host, port, err = net.SplitHostPort(h); err != nil {
			return "", err
		}
	} else if strings.Contains(h, ":") {
		return "", errors.New("IPv6 addresses must be in brackets ([::1]:2181)")
	}
	if host == "" {
		return "", errors.New("empty host name")
	}
	if strings.ContainsAny(host, " \t/?#@[]") {
		return "", fmt.Errorf("invalid character in host name %q", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bad port %q (want 1-65535)", port)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// cleanPath checks an absolute znode path and returns it without a
// trailing slash.
func cleanPath(p string) (string, error) {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", errors.New("empty (want e.g. /agora)")
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		switch {
		case seg == "":
			return "", fmt.Errorf("empty segment in %q", p)
		case seg == "." || seg == "..":
			return "", fmt.Errorf("segment %q not allowed in %q", seg, p)
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f || r >= 0xd800 && r <= 0xf8ff || r >= 0xfff0 && r <= 0xffff {
				return "", fmt.Errorf("invalid character %q in %q", r, p)
			}
		}
	}
	return p, nil
}

// String returns the URL in zk:// form, password included; use Redacted
// for logs.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString("zk://")
	if u.User != "" {
		b.WriteString(u.User + ":" + u.Password + "@")
	}
	b.WriteString(strings.Join(u.Hosts, ","))
	b.WriteString(u.Path)
	return b.String()
}

// Redacted returns the URL with the password replaced by "xxxxx".
func (u URL) Redacted() string {
	if u.Password != "" {
		u.Password = "xxxxx"
	}
	return u.String()
}

// Join returns the URL with sub appended to its path ("registry" turns
// /agora into /agora/registry).
func (u URL) Join(sub string) (URL, error) {
	p, err := cleanPath(u.Path + "/" + strings.Trim(sub, "/"))
	if err != nil {
		return URL{}, fmt.Errorf("zookeeper: join %q to %q: %w", sub, u.Path, err)
	}
	u.Hosts = append([]string(nil), u.Hosts...)
	u.Path = p
	return u, nil
}

// IsURL reports whether s is meant as a zk:// URL (as opposed to a
// host:port), so that flags taking either can choose a parser.
func IsURL(s string) bool {
	return len(s) >= 5 && strings.EqualFold(s[:5], "zk://")
}

// redact hides the password of a raw URL for error messages.
func redact(s string) string {
	if !IsURL(s) {
		return s
	}
	authority, _, _ := strings.Cut(s[5:], "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s
	}
	user, _, ok := strings.Cut(authority[:at], ":")
	if !ok {
		return s
	}
	return s[:5] + user + ":xxxxx" + s[5+at:]
}
