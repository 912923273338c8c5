package zktest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/hosttest"
)

// The jars of Debian's zookeeper package: the server (whose manifest names
// its dependencies) and an slf4j binding so that its log is readable.
var classpath = []string{"/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"}

// TickTime is the servers' tick: sessions may be as short as two ticks
// and expire within a tick of their timeout.
const TickTime = 100 * time.Millisecond

// Server is a standalone ZooKeeper server in a child process.
type Server struct {
	t       testing.TB
	dir     string
	port    int
	cfgPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	logs *os.File
}

// Available reports why ZooKeeper cannot run here, or "" if it can.
func Available() string {
	for _, jar := range classpath[:1] {
		if _, err := os.Stat(jar); err != nil {
			return fmt.Sprintf("ZooKeeper not installed (%s missing; run make deps)", jar)
		}
	}
	if _, err := exec.LookPath("java"); err != nil {
		return "java not found (run make deps)"
	}
	return ""
}

// Require skips the test when ZooKeeper is missing, or fails it in CI
// (CI=true), where it must be installed.
func Require(t testing.TB) {
	t.Helper()
	hosttest.Require(t, Available())
}

// Start starts a ZooKeeper server on a free loopback port with a fresh data
// directory and waits until it serves. It is stopped when the test ends,
// and its log is printed if the test failed.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t)
	s := &Server{t: t, dir: t.TempDir()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.cfgPath = filepath.Join(s.dir, "zoo.cfg")
	cfg := strings.Join([]string{
		"tickTime=" + strconv.Itoa(int(TickTime/time.Millisecond)),
		"minSessionTimeout=" + strconv.Itoa(int(2*TickTime/time.Millisecond)),
		"maxSessionTimeout=60000",
		"dataDir=" + filepath.Join(s.dir, "data"),
		"clientPort=" + strconv.Itoa(s.port),
		"clientPortAddress=127.0.0.1",
		"admin.enableServer=false",
		"4lw.commands.whitelist=srvr,ruok,stat,cons",
		"maxClientCnxns=0",
		"", // trailing newline
	}, "\n")
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logs, err := os.Create(filepath.Join(s.dir, "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.logs = logs
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			s.dumpLog()
		}
		logs.Close()
	})
	s.Restart()
	return s
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns a zk:// URL of the server with path (e.g. "/agora").
func (s *Server) URL(path string) string { return "zk://" + s.Addr() + path }

// Restart starts the server again (after Stop) on the same port and data
// and waits until it serves; it does nothing if the server is running.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command("java", "-Xmx256m", "-Xss512k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Xshare:auto", "-Dzookeeper.jmx.log4j.disable=true", "-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
		"-cp", strings.Join(classpath, ":"), "org.apache.zookeeper.server.ZooKeeperServerMain", s.cfgPath)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("zktest: start ZooKeeper: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(60 * time.Second)
	for {
		if out, _ := s.fourLetter("srvr"); strings.Contains(out, "Mode: standalone") {
			return
		}
		select {
		case <-done:
			s.cmd = nil
			s.dumpLog()
			s.t.Fatalf("zktest: ZooKeeper exited at start: %v", cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.dumpLog()
			s.t.Fatalf("zktest: ZooKeeper not serving on %s after 60s", s.Addr())
		}
	}
}

// Stop kills the server (SIGKILL, as a crash would) and waits for it to
// exit. Its data stays for Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// fourLetter sends a four-letter command and returns the answer.
func (s *Server) fourLetter(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(c)
	return b.String(), err
}

func (s *Server) dumpLog() {
	f, err := os.Open(s.logs.Name())
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	s.t.Logf("zktest: last lines of the ZooKeeper log %s:\n%s", s.logs.Name(), strings.Join(lines, "\n"))
}
