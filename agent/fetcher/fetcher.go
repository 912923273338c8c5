package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// ErrUnsupported is wrapped by errors for URI schemes and archive formats the fetcher cannot
// handle.
var ErrUnsupported = errors.New("fetcher: unsupported")

// Options tune a fetch. The zero value is usable.
type Options struct {
	// HTTPClient fetches http:// and https:// URIs; nil means a plain client without a
	// timeout (the ctx bounds each fetch).
	HTTPClient *http.Client
	// MaxBytes bounds the size of one fetched file and the total size unpacked from one
	// archive, in bytes; 0 means no limit.
	MaxBytes int64
}

// URI is one item to fetch, the plain form of mesos.CommandInfo_URI.
type URI struct {
	// Value is an http(s):// or file:// URI, or an absolute local path.
	Value string
	// Executable makes the fetched file executable (0755); it is then never extracted.
	Executable bool
	// Extract unpacks a recognized archive (.tar, .tar.gz, .tgz, .tar.bz2, .zip, .gz) into
	// the sandbox; the fetched archive itself stays.
	Extract bool
	// OutputFile names the fetched file, relative to the sandbox; empty means the URI's
	// base name.
	OutputFile string
}

// FromProto converts Mesos URIs; extract follows the proto default (true when unset).
func FromProto(uris []*mesos.CommandInfo_URI) []URI {
	out := make([]URI, 0, len(uris))
	for _, u := range uris {
		out = append(out, URI{
			Value:      u.GetValue(),
			Executable: u.GetExecutable(),
			Extract:    u.GetExtract(),
			OutputFile: u.GetOutputFile(),
		})
	}
	return out
}

// Fetch fetches every URI into sandbox, in order, and stops at the first failure.
func Fetch(ctx context.Context, uris []*mesos.CommandInfo_URI, sandbox string) error {
	return FetchURIs(ctx, FromProto(uris), sandbox, Options{})
}

// FetchURIs fetches every URI into sandbox with opts, in order, and stops at the first failure.
func FetchURIs(ctx context.Context, uris []URI, sandbox string, opts Options) error {
	if len(uris) == 0 {
		return nil
	}
	root, err := os.OpenRoot(sandbox)
	if err != nil {
		return fmt.Errorf("fetcher: open sandbox: %w", err)
	}
	defer root.Close()
	f := &fetch{root: root, opts: opts}
	if f.opts.HTTPClient == nil {
		f.opts.HTTPClient = &http.Client{}
	}
	for _, u := range uris {
		if err := f.one(ctx, u); err != nil {
			return fmt.Errorf("fetcher: %s: %w", u.Value, err)
		}
	}
	return nil
}

type fetch struct {
	root *os.Root
	opts Options
}

func (f *fetch) one(ctx context.Context, u URI) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	src, err := parseSource(u.Value)
	if err != nil {
		return err
	}
	name := u.OutputFile
	if name == "" {
		name = src.base
		if name == "/" || name == "." {
			name = ""
		}
	}
	name, err = sandboxName(name)
	if err != nil {
		return fmt.Errorf("output file: %w", err)
	}
	if dir := path.Dir(name); dir != "." {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := f.download(ctx, src, name); err != nil {
		return err
	}
	switch {
	case u.Executable:
		return f.root.Chmod(name, 0o755)
	case u.Extract:
		return f.extract(ctx, name)
	}
	return nil
}

// source is where a URI's bytes come from.
type source struct {
	url       string // http(s) URL, or "" for a local file
	localPath string
	base      string // default file name
}

func parseSource(value string) (source, error) {
	if strings.HasPrefix(value, "/") {
		return source{localPath: value, base: filepath.Base(value)}, nil
	}
	u, err := url.Parse(value)
	if err != nil {
		return source{}, err
	}
	switch u.Scheme {
	case "http", "https":
		return source{url: value, base: path.Base(u.Path)}, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return source{}, fmt.Errorf("%w: file URI with host %q", ErrUnsupported, u.Host)
		}
		if !path.IsAbs(u.Path) {
			return source{}, fmt.Errorf("file URI must name an absolute path")
		}
		return source{localPath: u.Path, base: path.Base(u.Path)}, nil
	case "":
		return source{}, fmt.Errorf("%w: relative path (want an absolute path or a URI)", ErrUnsupported)
	default:
		return source{}, fmt.Errorf("%w: scheme %q", ErrUnsupported, u.Scheme)
	}
}

// sandboxName cleans a slash path relative to the sandbox and rejects names that are
// absolute, escape with "..", or name the sandbox itself.
func sandboxName(name string) (string, error) {
	name = filepath.ToSlash(name)
	if path.IsAbs(name) {
		return "", fmt.Errorf("%q is absolute", name)
	}
	clean := path.Clean(name)
	if clean == "." || clean == "/" || clean == "" {
		return "", fmt.Errorf("%q names no file (set output_file)", name)
	}
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%q escapes the sandbox", name)
	}
	return clean, nil
}

// download writes the source into name through a temporary file and a rename, so a failed
// fetch leaves no partial file behind.
func (f *fetch) download(ctx context.Context, src source, name string) error {
	var body io.ReadCloser
	if src.url != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.url, nil)
		if err != nil {
			return err
		}
		resp, err := f.opts.HTTPClient.Do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			resp.Body.Close()
			return fmt.Errorf("GET %s: unexpected status %s", src.url, resp.Status)
		}
		body = resp.Body
	} else {
		file, err := os.Open(src.localPath)
		if err != nil {
			return err
		}
		st, err := file.Stat()
		if err != nil {
			file.Close()
			return err
		}
		if !st.Mode().IsRegular() {
			file.Close()
			return fmt.Errorf("%s is not a regular file", src.localPath)
		}
		body = file
	}
	defer body.Close()

	tmp := name + ".fetching"
	out, err := f.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = copyLimited(ctx, out, body, f.opts.MaxBytes)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = f.root.Rename(tmp, name)
	}
	if err != nil {
		_ = f.root.Remove(tmp)
		return err
	}
	return nil
}

// errTooLarge reports a file or archive over Options.MaxBytes.
var errTooLarge = errors.New("fetcher: size limit exceeded")

// copyLimited copies src to dst, failing once more than limit bytes (limit > 0) arrive or
// ctx is done.
func copyLimited(ctx context.Context, dst io.Writer, src io.Reader, limit int64) (int64, error) {
	r := src
	if limit > 0 {
		r = io.LimitReader(src, limit+1)
	}
	n, err := io.Copy(dst, ctxReader{ctx, r})
	if err != nil {
		return n, err
	}
	if limit > 0 && n > limit {
		return n, fmt.Errorf("%w (%d bytes)", errTooLarge, limit)
	}
	return n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
