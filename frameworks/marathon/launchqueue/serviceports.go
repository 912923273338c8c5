package launchqueue

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// Marathon's default service port range (--local_port_min/--local_port_max).
const (
	DefaultServicePortMin = 10000
	DefaultServicePortMax = 20000
)

// ErrNoServicePorts is returned when the range has no free port left.
var ErrNoServicePorts = errors.New("launchqueue: no free service ports in range")

// ServicePorts assigns service ports from [Min, Max].
type ServicePorts struct {
	Min, Max int
}

// DefaultServicePorts is Marathon's 10000–20000.
func DefaultServicePorts() ServicePorts {
	return ServicePorts{Min: DefaultServicePortMin, Max: DefaultServicePortMax}
}

// servicePorts returns pointers to the service port fields of a: the port
// mappings' servicePort when the container has mappings, else the port
// definitions' port.
func servicePorts(a *app.App) []*int {
	var out []*int
	if a.Container != nil && len(a.Container.PortMappings) > 0 {
		for i := range a.Container.PortMappings {
			out = append(out, &a.Container.PortMappings[i].ServicePort)
		}
		return out
	}
	for i := range a.PortDefinitions {
		out = append(out, &a.PortDefinitions[i].Port)
	}
	return out
}

// Used lists the service ports the apps hold, sorted.
func Used(apps []*app.App) []int {
	seen := map[int]bool{}
	for _, a := range apps {
		for _, p := range servicePorts(a) {
			if *p != 0 {
				seen[*p] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Assign returns a copy of a in which every service port that asks for 0
// gets the lowest port of the range that no app in others holds and that a
// does not hold itself. Ports already set are kept. others must not contain
// a (pass the other apps of the cluster). With requirePorts the port
// definitions are host ports and 0 stays dynamic, so Assign leaves them.
func (r ServicePorts) Assign(a *app.App, others []*app.App) (*app.App, error) {
	cp, err := clone(a)
	if err != nil {
		return nil, err
	}
	mappings := cp.Container != nil && len(cp.Container.PortMappings) > 0
	if cp.RequirePorts && !mappings {
		return cp, nil
	}
	taken := map[int]bool{}
	for _, p := range Used(others) {
		taken[p] = true
	}
	ports := servicePorts(cp)
	for _, p := range ports {
		if *p != 0 {
			taken[*p] = true
		}
	}
	next := r.Min
	for _, p := range ports {
		if *p != 0 {
			continue
		}
		for next <= r.Max && taken[next] {
			next++
		}
		if next > r.Max {
			return nil, fmt.Errorf("%w %d-%d for %s", ErrNoServicePorts, r.Min, r.Max, a.ID)
		}
		*p = next
		taken[next] = true
	}
	return cp, nil
}

func clone(a *app.App) (*app.App, error) {
	b, err := app.Render(a)
	if err != nil {
		return nil, err
	}
	out, err := app.Parse(b, "/")
	if err != nil {
		return nil, fmt.Errorf("launchqueue: clone %s: %w", a.ID, err)
	}
	return out, nil
}
