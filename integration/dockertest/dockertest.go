// Package dockertest is test support for code that talks to the real Docker Engine without any
// registry: it compiles the static hello workload (./hello), builds FROM scratch images from an
// in-memory tar context through the Engine API (no docker CLI), and cleans up the containers
// and images a test created. RequireDocker skips a test when no engine answers, and fails it
// when CI=true.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/hosttest"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	dockerclient "github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// HelloPackage is the import path of the hello workload.
const HelloPackage = "github.com/agoracluster/agora/integration/dockertest/hello"

// HelloPort is the container port the hello workload always serves on.
const HelloPort = 9001

// Default tags of the hello image, as the README's hello-marathon.json and `make run` use them.
var DefaultTags = []string{"hello_world:latest", "agora-test/hello:latest"}

// Connect returns a client for the engine named by the environment (DOCKER_HOST, else the
// default socket) after checking that it answers.
func Connect(ctx context.Context) (*dockerclient.Client, error) { return hosttest.ConnectDocker(ctx) }

// BuildHelloBinary compiles the hello workload as a static linux binary (CGO_ENABLED=0) into
// dir and returns its path. It runs `go build`, so it needs the Go toolchain and the module.
func BuildHelloBinary(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "hello")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, HelloPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("dockertest: build hello: %v\n%s", err, b)
	}
	return out, nil
}

// BuildImage builds a FROM scratch image holding binary as /hello (its entrypoint, exposing
// 9001) and tags it with tags. It returns the image id.
func BuildImage(ctx context.Context, cli dockerclient.APIClient, binary string, tags ...string) (string, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return "", fmt.Errorf("dockertest: %w", err)
	}
	dockerfile := "FROM scratch\nCOPY hello /hello\nEXPOSE 9001\nENTRYPOINT [\"/hello\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"hello", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Unix(0, 0)}); err != nil {
			return "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: tags, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true, Version: build.BuilderV1,
		Labels: map[string]string{"agora.test": "hello"},
	})
	if err != nil {
		return "", fmt.Errorf("dockertest: build image %v: %w", tags, err)
	}
	defer resp.Body.Close()
	var id, log string
	dec := json.NewDecoder(resp.Body)
	for {
		var msg jsonmessage.JSONMessage
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", fmt.Errorf("dockertest: build image %v: %w", tags, err)
		}
		if msg.Error != nil {
			return "", fmt.Errorf("dockertest: build image %v: %s\n%s", tags, msg.Error.Message, log)
		}
		log += msg.Stream
		if msg.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*msg.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	}
	if id == "" && len(tags) > 0 {
		ins, err := cli.ImageInspect(ctx, tags[0])
		if err != nil {
			return "", fmt.Errorf("dockertest: build image %v: no image id: %w\n%s", tags, err, log)
		}
		id = ins.ID
	}
	return id, nil
}

// HelloImage builds the hello binary and a FROM scratch image of it under a tag unique to this
// test (agora-test/hello:<random>), removed when the test ends. It returns the tag.
func HelloImage(t testing.TB, cli dockerclient.APIClient) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := BuildHelloBinary(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tag := "agora-test/hello:" + RandomID()
	if _, err := BuildImage(ctx, cli, bin, tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { RemoveImage(t, cli, tag) })
	return tag
}

// RemoveImage removes an image (by tag or id) and reports a failure other than "not found".
func RemoveImage(t testing.TB, cli dockerclient.APIClient, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !dockerclient.IsErrNotFound(err) {
		t.Errorf("dockertest: remove image %s: %v", ref, err)
	}
}

// RemoveContainersOnCleanup removes, when the test ends, every container (running or not)
// carrying the label key=value.
func RemoveContainersOnCleanup(t testing.TB, cli dockerclient.APIClient, key, value string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", key+"="+value))})
		if err != nil {
			t.Errorf("dockertest: list containers %s=%s: %v", key, value, err)
			return
		}
		for _, c := range cs {
			if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !dockerclient.IsErrNotFound(err) {
				t.Errorf("dockertest: remove container %s: %v", strings.Join(c.Names, ","), err)
			}
		}
	})
}

// RandomID returns 12 random hex digits for unique names and tags.
func RandomID() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}
