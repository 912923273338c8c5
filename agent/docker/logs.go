package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"go.uber.org/zap"
)

// markInterval bounds how often the log position is written to the sandbox.
const markInterval = time.Second

// copyLogs follows the container's log until it ends (the container stopped) or ctx is
// cancelled, appending stdout and stderr to the sandbox files. Lines are requested with the
// engine's timestamps, which are stripped; the last one is recorded in the sandbox so that a
// later Attach resumes after it.
func (c *Container) copyLogs(ctx context.Context, since string) {
	stdout, err := openAppend(filepath.Join(c.Sandbox, "stdout"))
	if err != nil {
		c.log.Error("cannot copy container output", zap.Error(err))
		return
	}
	defer stdout.Close()
	stderr, err := openAppend(filepath.Join(c.Sandbox, "stderr"))
	if err != nil {
		c.log.Error("cannot copy container output", zap.Error(err))
		return
	}
	defer stderr.Close()

	rc, err := c.rt.cli.ContainerLogs(ctx, c.ID, container.LogsOptions{
		ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true, Since: since,
	})
	if err != nil {
		if ctx.Err() == nil {
			c.log.Error("cannot follow container output", zap.Error(err))
		}
		return
	}
	defer rc.Close()
	mark := &logMark{path: filepath.Join(c.Sandbox, logMarkFile), now: c.rt.clock.Now}
	_, err = stdcopy.StdCopy(&stampStripper{w: stdout, mark: mark}, &stampStripper{w: stderr, mark: mark}, rc)
	if err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) {
		c.log.Warn("copying container output ended early", zap.Error(err))
	}
	if err := mark.flush(); err != nil {
		c.log.Warn("record log position", zap.Error(err))
	}
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("docker: open %s: %w", path, err)
	}
	return f, nil
}

// stampStripper receives one log message per Write (the engine frames each message, and
// stdcopy writes each frame at once), strips its leading "<RFC3339Nano timestamp> " and
// records the timestamp.
type stampStripper struct {
	w    io.Writer
	mark *logMark
}

func (s *stampStripper) Write(p []byte) (int, error) {
	body := p
	if i := bytes.IndexByte(p, ' '); i > 0 {
		if ts, err := time.Parse(time.RFC3339Nano, string(p[:i])); err == nil {
			body = p[i+1:]
			s.mark.set(ts)
		}
	}
	if _, err := s.w.Write(body); err != nil {
		return 0, err
	}
	return len(p), nil
}

// logMark remembers the newest copied message's timestamp and writes it to the sandbox at most
// once per markInterval (and on flush).
type logMark struct {
	path    string
	now     func() time.Time
	last    time.Time
	written time.Time // value of last when it was last written
	at      time.Time // when it was last written
}

func (m *logMark) set(ts time.Time) {
	if ts.After(m.last) {
		m.last = ts
	}
	if now := m.now(); now.Sub(m.at) >= markInterval {
		m.at = now
		_ = m.flush() // best effort; flushed again at the end
	}
}

func (m *logMark) flush() error {
	if m.last.IsZero() || m.last.Equal(m.written) {
		return nil
	}
	// Resume strictly after the last copied message: the engine's since is inclusive.
	next := m.last.Add(time.Nanosecond)
	tmp := m.path + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d.%09d\n", next.Unix(), next.Nanosecond()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, m.path); err != nil {
		return err
	}
	m.written = m.last
	return nil
}
