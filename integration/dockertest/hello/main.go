// Command hello is the test workload baked into the FROM scratch test images
// (hello_world:latest, agora-test/hello:latest): an HTTP server that answers "hello" and, on
// flags, prints, allocates memory, touches files, sleeps, exits with a code or ignores SIGTERM.
//
// It serves on :$PORT (when PORT is set) and on :9001, so it is reachable both with host
// networking (Marathon's PORT is the host port) and through a bridge port mapping to 9001.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("hello", flag.ContinueOnError)
	listen := fs.String("listen", "", "comma-separated listen addresses (default :$PORT and :9001)")
	stdout := fs.String("stdout", "", "print this line to stdout at start")
	stderr := fs.String("stderr", "", "print this line to stderr at start")
	stdoutEnd := fs.String("stdout-end", "", "print this line to stdout before exiting after -sleep")
	allocMiB := fs.Int("alloc-mib", 0, "allocate and touch this many MiB, and hold them")
	touch := fs.String("touch", "", "create this file (containing \"hello\") at start")
	sleep := fs.Duration("sleep", 0, "sleep this long, then exit with -exit (default 0)")
	exit := fs.Int("exit", -1, "exit with this code instead of serving")
	ignoreTerm := fs.Bool("ignore-term", false, "ignore SIGTERM")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	sigs := make(chan os.Signal, 1)
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}
	if *stdout != "" {
		fmt.Fprintln(os.Stdout, *stdout)
	}
	if *stderr != "" {
		fmt.Fprintln(os.Stderr, *stderr)
	}
	if *touch != "" {
		if err := os.WriteFile(*touch, []byte("hello\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "hello:", err)
			return 1
		}
	}
	var held [][]byte
	for i := 0; i < *allocMiB; i++ {
		b := make([]byte, 1<<20)
		for j := range b {
			b[j] = byte(j)
		}
		held = append(held, b)
	}
	if *allocMiB > 0 {
		fmt.Printf("hello: allocated %d MiB\n", len(held))
	}

	if *sleep > 0 {
		select {
		case <-time.After(*sleep):
			if *stdoutEnd != "" {
				fmt.Fprintln(os.Stdout, *stdoutEnd)
			}
		case s := <-sigs:
			fmt.Printf("hello: got %v\n", s)
			return 0
		}
		return max(*exit, 0)
	}
	if *exit >= 0 {
		return *exit
	}
	return serve(*listen, sigs)
}

func serve(listen string, sigs <-chan os.Signal) int {
	addrs := []string{":9001"}
	if p := os.Getenv("PORT"); p != "" && p != "9001" {
		addrs = []string{":" + p, ":9001"}
	}
	explicit := listen != ""
	if explicit {
		addrs = strings.Split(listen, ",")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello") })
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, os.Getenv(r.URL.Query().Get("name"))) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errs := make(chan error, len(addrs))
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			// With $PORT set, 9001 is a convenience: another instance may hold it.
			fmt.Fprintln(os.Stderr, "hello:", err)
			if explicit || a == addrs[0] {
				return 1
			}
			continue
		}
		fmt.Printf("hello: serving on %s\n", ln.Addr())
		go func() { errs <- srv.Serve(ln) }()
	}
	select {
	case s := <-sigs:
		fmt.Printf("hello: got %v\n", s)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return 0
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "hello:", err)
		}
		return 1
	}
}
