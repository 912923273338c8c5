package containerizer

import (
	"context"
	"sync"
	"syscall"
)

// Router sends each container to the containerizer that runs it: hosted command executors
// to Hosted, the command executors of DOCKER tasks to Docker (when there is one), every
// other executor to Process.
type Router struct {
	process *Process
	hosted  *Hosted

	mu     sync.Mutex
	docker *Docker           // nil until UseDocker (no engine, or not enabled)
	routes map[string]string // container id -> routeHosted or routeDocker; absent: Process
}

var _ Containerizer = (*Router)(nil)

const (
	routeHosted = "hosted"
	routeDocker = "docker"
)

// NewRouter routes between process and hosted; UseDocker adds docker.
func NewRouter(process *Process, hosted *Hosted) *Router {
	return &Router{process: process, hosted: hosted, routes: make(map[string]string)}
}

// UseDocker routes the command executors of DOCKER tasks through d from now on.
func (r *Router) UseDocker(d *Docker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.docker = d
}

// Docker is the docker containerizer in use, nil when there is none.
func (r *Router) Docker() *Docker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.docker
}

func (r *Router) of(containerID string) Containerizer {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.routes[containerID] {
	case routeHosted:
		return r.hosted
	case routeDocker:
		if r.docker != nil {
			return r.docker
		}
	}
	return r.process
}

// route picks the containerizer of a new or recovered container and remembers it.
func (r *Router) route(containerID string, hosted, docker bool) Containerizer {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case hosted:
		r.routes[containerID] = routeHosted
		return r.hosted
	case docker && r.docker != nil:
		r.routes[containerID] = routeDocker
		return r.docker
	}
	return r.process
}

func (r *Router) forget(containerID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.routes, containerID)
}

// Launch implements Containerizer.
func (r *Router) Launch(ctx context.Context, spec ContainerSpec) (int, error) {
	c := r.route(spec.ContainerID, spec.Hosted, spec.Docker)
	pid, err := c.Launch(ctx, spec)
	if err != nil {
		r.forget(spec.ContainerID)
	}
	return pid, err
}

// Wait implements Containerizer.
func (r *Router) Wait(ctx context.Context, containerID string) (Termination, error) {
	term, err := r.of(containerID).Wait(ctx, containerID)
	if err == nil {
		r.forget(containerID)
	}
	return term, err
}

// Kill implements Containerizer.
func (r *Router) Kill(ctx context.Context, containerID string, sig syscall.Signal) error {
	return r.of(containerID).Kill(ctx, containerID, sig)
}

// Recover implements Containerizer. Hosted containers of a previous run are recovered as
// hosted even when the executor host is now turned off: they still run there.
func (r *Router) Recover(ctx context.Context, containers []RecoveredContainer) error {
	var procs, hosted, docker []RecoveredContainer
	for _, c := range containers {
		switch r.route(c.ContainerID, c.Hosted, c.Docker) {
		case Containerizer(r.hosted):
			hosted = append(hosted, c)
		case Containerizer(r.process):
			procs = append(procs, c)
		default:
			docker = append(docker, c)
		}
	}
	if err := r.process.Recover(ctx, procs); err != nil {
		return err
	}
	if len(docker) > 0 {
		if err := r.Docker().Recover(ctx, docker); err != nil {
			return err
		}
	}
	if len(hosted) == 0 {
		return nil
	}
	return r.hosted.Recover(ctx, hosted)
}
