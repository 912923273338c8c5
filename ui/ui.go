package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var embedded embed.FS

// Prefix is the path under which the UI is served.
const Prefix = "/ui/"

// contentType is the media type of an asset kind; an asset of another kind is not served.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".html":
		return "text/html; charset=utf-8", true
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	}
	return "", false
}

// contentSecurityPolicy keeps the page to its own assets; it may connect to any agent,
// whose files API lives on another origin.
const contentSecurityPolicy = "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; " +
	"style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"

// asset is one file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the UI's assets. Every answer carries a strong ETag (the content's hash)
// and Cache-Control: no-cache, so that browsers revalidate (a 304 is cheap) and never run a
// stale script after an upgrade.
type Handler struct {
	assets map[string]asset // by path below Prefix, "index.html" for the page
}

var _ http.Handler = (*Handler)(nil)

// New reads the embedded assets.
func New() (*Handler, error) {
	return newHandler(embedded, "assets")
}

func newHandler(fsys fs.FS, root string) (*Handler, error) {
	h := &Handler{assets: map[string]asset{}}
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentType(path.Ext(p))
		if !ok {
			return fmt.Errorf("ui: asset %s: no content type for %q", p, path.Ext(p))
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("ui: read asset %s: %w", p, err)
		}
		sum := sha256.Sum256(body)
		h.assets[strings.TrimPrefix(p, root+"/")] = asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := h.assets["index.html"]; !ok {
		return nil, fmt.Errorf("ui: no index.html among the assets")
	}
	return h, nil
}

// Register serves the UI on mux: the assets under Prefix, and "/" (exactly) and "/ui"
// redirect to the page. A gate, when not nil, wraps the assets' handler (the master sends a
// standby's visitors to the leader with it).
func (h *Handler) Register(mux *http.ServeMux, gate func(http.Handler) http.Handler) {
	var assets http.Handler = h
	if gate != nil {
		assets = gate(h)
	}
	mux.Handle(Prefix, assets)
	redirect := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	}
	mux.HandleFunc("GET /{$}", redirect)
	mux.HandleFunc("GET /ui", redirect)
}

// ServeHTTP serves one asset: GET and HEAD only, 404 for a path that is not an asset.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Expecting one of { 'GET', 'HEAD' }, but received '"+r.Method+"'", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	if name == "" {
		name = "index.html"
	}
	a, ok := h.assets[name]
	if !ok {
		http.Error(w, "No such asset of the web UI: "+r.URL.Path, http.StatusNotFound)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("ETag", a.etag)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if name == "index.html" {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", fmt.Sprint(len(a.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// etagMatches reports whether an If-None-Match header names etag (or is "*").
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
