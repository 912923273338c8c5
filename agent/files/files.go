package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/agoracluster/agora/agent/sandbox"
)

// maxReadLength caps one /files/read answer.
const maxReadLength = 16 << 20

// Access decides whether the caller of a request (its ctx) may read the sandbox path p; an
// error wrapping ErrForbidden is answered 403 with its text, any other 503.
type Access func(ctx context.Context, p string) error

// Handler serves the Mesos files endpoints (/files/browse, /files/read, /files/download,
// each also with .json), confined to the sandboxes under workDir, each path checked by
// access (nil: every sandbox may be read).
func Handler(workDir string, access Access) http.Handler {
	mux := http.NewServeMux()
	f := filesAPI{workDir: workDir, access: access}
	mux.HandleFunc("/files/browse", f.browse)
	mux.HandleFunc("/files/browse.json", f.browse)
	mux.HandleFunc("/files/read", f.read)
	mux.HandleFunc("/files/read.json", f.read)
	mux.HandleFunc("/files/download", f.download)
	mux.HandleFunc("/files/download.json", f.download)
	return mux
}

// filesAPI serves the files endpoints of one work dir.
type filesAPI struct {
	workDir string
	access  Access
}

// FileInfo is one entry of /files/browse (Mesos's format).
type FileInfo struct {
	Path  string  `json:"path"`
	Nlink uint64  `json:"nlink"`
	Size  int64   `json:"size"`
	Mtime float64 `json:"mtime"`
	Mode  string  `json:"mode"`
	UID   string  `json:"uid"`
	GID   string  `json:"gid"`
	// ModeBits (POSIX st_mode) and MtimeNanos are for the operator API's FileInfo.
	ModeBits   uint32 `json:"-"`
	MtimeNanos int64  `json:"-"`
}

// resolve maps the path parameter to a file inside a sandbox, or answers the request.
func (f filesAPI) resolve(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Expecting a 'GET' request", http.StatusMethodNotAllowed)
		return "", false
	}
	p := r.URL.Query().Get("path")
	if p == "" {
		http.Error(w, "Expecting 'path' in the query", http.StatusBadRequest)
		return "", false
	}
	resolved, err := sandbox.Resolve(f.workDir, p)
	if err != nil {
		http.Error(w, "No such file or directory: "+p, http.StatusNotFound)
		return "", false
	}
	if f.access != nil {
		if err := f.access(r.Context(), resolved); errors.Is(err, ErrForbidden) {
			http.Error(w, err.Error(), http.StatusForbidden)
			return "", false
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return "", false
		}
	}
	return resolved, true
}

func (f filesAPI) browse(w http.ResponseWriter, r *http.Request) {
	dir, ok := f.resolve(w, r)
	if !ok {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		http.Error(w, "Cannot browse "+r.URL.Query().Get("path")+": not a directory", http.StatusBadRequest)
		return
	}
	base := filepath.Clean(r.URL.Query().Get("path"))
	out := []FileInfo{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, fileInfo(filepath.Join(base, e.Name()), info))
	}
	writeJSON(w, out)
}

func fileInfo(path string, info fs.FileInfo) FileInfo {
	fi := FileInfo{Path: path, Size: info.Size(), Mtime: float64(info.ModTime().Unix()), Mode: info.Mode().String(),
		MtimeNanos: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		fi.ModeBits = uint32(st.Mode)
		fi.Nlink = uint64(st.Nlink)
		fi.UID = lookupUser(st.Uid)
		fi.GID = lookupGroup(st.Gid)
	}
	return fi
}

func lookupUser(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return u.Username
	}
	return strconv.Itoa(int(uid))
}

func lookupGroup(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.Itoa(int(gid))); err == nil {
		return g.Name
	}
	return strconv.Itoa(int(gid))
}

// read serves /files/read?path=&offset=&length=: {"data": "...", "offset": N}; offset=-1
// answers the file's length as the offset with no data.
func (f filesAPI) read(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, err := intParam(q.Get("offset"), 0)
	if err != nil || offset < -1 {
		http.Error(w, "Failed to parse 'offset': want an integer >= -1", http.StatusBadRequest)
		return
	}
	length, err := intParam(q.Get("length"), -1)
	if err != nil || length < -1 {
		http.Error(w, "Failed to parse 'length': want an integer >= 0", http.StatusBadRequest)
		return
	}
	p, ok := f.resolve(w, r)
	if !ok {
		return
	}
	file, err := os.Open(p)
	if err != nil {
		http.Error(w, "No such file or directory", http.StatusNotFound)
		return
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if info.IsDir() {
		http.Error(w, "Cannot read a directory", http.StatusBadRequest)
		return
	}
	size := info.Size()
	if offset == -1 {
		writeJSON(w, map[string]any{"data": "", "offset": size})
		return
	}
	if offset >= size {
		writeJSON(w, map[string]any{"data": "", "offset": offset})
		return
	}
	if length == -1 || length > maxReadLength {
		length = maxReadLength
	}
	buf := make([]byte, min(length, size-offset))
	n, err := file.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, fmt.Sprintf("Failed to read: %v", err), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"data": string(buf[:n]), "offset": offset})
}

func (f filesAPI) download(w http.ResponseWriter, r *http.Request) {
	p, ok := f.resolve(w, r)
	if !ok {
		return
	}
	file, err := os.Open(p)
	if err != nil {
		http.Error(w, "No such file or directory", http.StatusNotFound)
		return
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil || info.IsDir() {
		http.Error(w, "Cannot download a directory", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filepath.Base(p)))
	http.ServeContent(w, r, filepath.Base(p), info.ModTime(), file)
}

func intParam(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
