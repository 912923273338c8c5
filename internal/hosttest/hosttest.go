// Package hosttest lets a test ask for what it needs from the host (Docker, cgroups, a
// command, ZooKeeper). What is missing skips the test on a developer's machine and fails it in
// CI (CI=true), where everything must be installed.
package hosttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	dockerclient "github.com/docker/docker/client"
)

// InCI reports whether the tests run in CI (CI=true), where a missing dependency fails.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require does nothing when why is empty; otherwise it skips the test with why, or fails it
// in CI.
func Require(t testing.TB, why string) {
	t.Helper()
	if why == "" {
		return
	}
	if InCI() {
		t.Fatal(why)
		return
	}
	t.Skip(why)
}

// RequireDocker returns a client for the Docker Engine named by the environment (DOCKER_HOST,
// else the default socket) once it answers a ping; the client is closed when the test ends.
func RequireDocker(t testing.TB) *dockerclient.Client {
	t.Helper()
	cli, err := ConnectDocker(context.Background())
	if err != nil {
		Require(t, fmt.Sprintf("Docker Engine not reachable (%v); set DOCKER_HOST or start dockerd", err))
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// ConnectDocker returns a client for the engine named by the environment after checking,
// within 10 seconds, that it answers.
func ConnectDocker(ctx context.Context) (*dockerclient.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cli, err := dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		return nil, err
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	return cli, nil
}

// CgroupsUnavailable reports why cgroups cannot be managed here (not root, no cgroup
// filesystem), or "" when they can.
func CgroupsUnavailable() string {
	if os.Geteuid() != 0 {
		return "cgroup tests need root"
	}
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		return fmt.Sprintf("no cgroup filesystem: %v", err)
	}
	return ""
}

// RequireCgroups requires root and a mounted cgroup filesystem.
func RequireCgroups(t testing.TB) {
	t.Helper()
	Require(t, CgroupsUnavailable())
}

// RequireCommand returns the path of the command name found in PATH.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Require(t, fmt.Sprintf("%s not installed (make deps installs it): %v", name, err))
	}
	return p
}

// RequireChromium returns the path of Debian's Chromium (the chromium command, which `make
// deps` installs) once it answers --version, for the tests that drive a real browser.
func RequireChromium(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		Require(t, fmt.Sprintf("chromium not installed (make deps installs Debian's chromium package): %v", err))
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, p, "--version").CombinedOutput(); err != nil {
		Require(t, fmt.Sprintf("%s --version: %v: %s", p, err, out))
		return ""
	}
	return p
}
