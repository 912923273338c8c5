// Command buildhello builds the FROM scratch hello image locally, without a registry or the
// docker CLI: go run ./integration/dockertest/buildhello [-tag hello_world:latest ...]
// (default tags hello_world:latest and agora-test/hello:latest).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/agoracluster/agora/integration/dockertest"
)

type tagList []string

func (l *tagList) String() string     { return strings.Join(*l, ",") }
func (l *tagList) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	var tags tagList
	flag.Var(&tags, "tag", "image tag (repeatable; default "+strings.Join(dockertest.DefaultTags, ", ")+")")
	flag.Parse()
	if len(tags) == 0 {
		tags = dockertest.DefaultTags
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, tags); err != nil {
		fmt.Fprintln(os.Stderr, "buildhello:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, tags []string) error {
	cli, err := dockertest.Connect(ctx)
	if err != nil {
		return fmt.Errorf("docker engine: %w", err)
	}
	defer cli.Close()
	dir, err := os.MkdirTemp("", "buildhello")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := dockertest.BuildHelloBinary(ctx, dir)
	if err != nil {
		return err
	}
	id, err := dockertest.BuildImage(ctx, cli, bin, tags...)
	if err != nil {
		return err
	}
	fmt.Printf("built %s as %s\n", id, strings.Join(tags, ", "))
	return nil
}
