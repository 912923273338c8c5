package lb

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"
)

// HAProxyWriter keeps an HAProxy configuration file current instead of proxying: each new
// Table is rendered, and when the rendering differs from what was last written it replaces
// the file (atomically, by rename) and runs the reload command.
type HAProxyWriter struct {
	path      string
	reloadCmd string
	opts      HAProxyOptions
	timeout   time.Duration
	log       *zap.Logger

	mu      sync.Mutex
	written []byte // nil: nothing written, or the last reload failed
	table   Table
	updated bool
}

// NewHAProxyWriter writes to path and reloads with reloadCmd (run by /bin/sh -c; "" runs
// nothing), giving the command up to timeout.
func NewHAProxyWriter(path, reloadCmd string, opts HAProxyOptions, timeout time.Duration, log *zap.Logger) (*HAProxyWriter, error) {
	if path == "" {
		return nil, fmt.Errorf("lb: haproxy: config path must not be empty")
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("lb: haproxy: %s: the directory %s does not exist", path, filepath.Dir(path))
	}
	return &HAProxyWriter{path: path, reloadCmd: reloadCmd, opts: opts, timeout: timeout, log: log.Named("lb_haproxy")}, nil
}

// Update renders t, and writes and reloads when it changed. A failed write or reload is
// logged and tried again at the next Update.
func (w *HAProxyWriter) Update(ctx context.Context, t Table) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.table, w.updated = t, true
	cfg := RenderHAProxy(t, w.opts)
	if w.written != nil && bytes.Equal(cfg, w.written) {
		return
	}
	if err := w.write(cfg); err != nil {
		w.log.Error("write haproxy config", zap.String("path", w.path), zap.Error(err))
		return
	}
	if err := w.reload(ctx); err != nil {
		w.written = nil
		w.log.Error("reload haproxy", zap.String("command", w.reloadCmd), zap.Error(err))
		return
	}
	w.written = cfg
	w.log.Info("haproxy config written", zap.String("path", w.path), zap.Int("services", len(t.Services)), zap.Int("vhosts", len(t.VHosts)))
}

func (w *HAProxyWriter) write(cfg []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(w.path), "."+filepath.Base(w.path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(cfg); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), w.path)
}

func (w *HAProxyWriter) reload(ctx context.Context) error {
	if w.reloadCmd == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", w.reloadCmd).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Table is the table last given to Update, and whether there was one.
func (w *HAProxyWriter) Table() (Table, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.table, w.updated
}
