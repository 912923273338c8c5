package gpu

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrInsufficient is returned when fewer devices are free than a container asks for.
var ErrInsufficient = errors.New("gpu: not enough free GPUs")

// Environment variables a container's GPUs are given by.
const (
	EnvNVIDIA = "NVIDIA_VISIBLE_DEVICES"
	EnvCUDA   = "CUDA_VISIBLE_DEVICES"
	// Void is NVIDIA_VISIBLE_DEVICES for a container without GPUs (the NVIDIA container
	// runtime's convention).
	Void = "void"
)

// Allocator hands out an agent's GPUs to containers: each device to one container at a
// time. A nil or empty Allocator has no GPUs. Safe for concurrent use.
type Allocator struct {
	devices []Device

	mu    sync.Mutex
	owner map[int]string // device index → container id
}

// NewAllocator manages devs.
func NewAllocator(devs []Device) *Allocator {
	return &Allocator{devices: slices.Clone(devs), owner: make(map[int]string)}
}

// Devices returns every managed device.
func (a *Allocator) Devices() []Device {
	if a == nil {
		return nil
	}
	return slices.Clone(a.devices)
}

// Allocate gives a container n free devices (lowest indices first); a container that
// already holds devices gets them back if it holds exactly n.
func (a *Allocator) Allocate(containerID string, n int) ([]Device, error) {
	if n <= 0 {
		return nil, nil
	}
	if a == nil {
		return nil, fmt.Errorf("%w: %d asked, this agent has none", ErrInsufficient, n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if held := a.heldLocked(containerID); len(held) > 0 {
		if len(held) == n {
			return held, nil
		}
		return nil, fmt.Errorf("gpu: container %s already holds %d GPUs, asked for %d", containerID, len(held), n)
	}
	var free []Device
	for _, d := range a.devices {
		if _, taken := a.owner[d.Index]; !taken {
			free = append(free, d)
		}
	}
	if len(free) < n {
		return nil, fmt.Errorf("%w: %d asked, %d of %d free", ErrInsufficient, n, len(free), len(a.devices))
	}
	for _, d := range free[:n] {
		a.owner[d.Index] = containerID
	}
	return free[:n], nil
}

// Restore records that a container (recovered after an agent restart) holds the devices
// with these UUIDs. A device held by another container, or unknown, is an error.
func (a *Allocator) Restore(containerID string, uuids []string) error {
	if len(uuids) == 0 {
		return nil
	}
	if a == nil {
		return fmt.Errorf("gpu: container %s held GPUs %v, this agent has none", containerID, uuids)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var idx []int
	for _, u := range uuids {
		j := slices.IndexFunc(a.devices, func(d Device) bool { return d.UUID == u })
		if j < 0 {
			return fmt.Errorf("gpu: container %s held GPU %s, which this agent does not manage", containerID, u)
		}
		i := a.devices[j].Index
		if o, taken := a.owner[i]; taken && o != containerID {
			return fmt.Errorf("gpu: container %s held GPU %s, which container %s holds", containerID, u, o)
		}
		idx = append(idx, i)
	}
	for _, i := range idx {
		a.owner[i] = containerID
	}
	return nil
}

// Release frees a container's devices.
func (a *Allocator) Release(containerID string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, o := range a.owner {
		if o == containerID {
			delete(a.owner, i)
		}
	}
}

// Held returns a container's devices.
func (a *Allocator) Held(containerID string) []Device {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.heldLocked(containerID)
}

func (a *Allocator) heldLocked(containerID string) []Device {
	var out []Device
	for _, d := range a.devices {
		if a.owner[d.Index] == containerID {
			out = append(out, d)
		}
	}
	return out
}

// Free is the number of devices not held.
func (a *Allocator) Free() int {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.devices) - len(a.owner)
}

// Env is what a container holding devs is given, on an agent with GPUs: their UUIDs in
// NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES, or "void" and "" when it holds none. An
// agent without GPUs (a nil or empty Allocator) adds nothing.
func (a *Allocator) Env(devs []Device) []string {
	if a == nil || len(a.devices) == 0 {
		return nil
	}
	if len(devs) == 0 {
		return []string{EnvNVIDIA + "=" + Void, EnvCUDA + "="}
	}
	ids := UUIDs(devs)
	v := strings.Join(ids, ",")
	return []string{EnvNVIDIA + "=" + v, EnvCUDA + "=" + v}
}

// Deny returns the managed devices a container holding devs must not open.
func (a *Allocator) Deny(devs []Device) []Device {
	if a == nil {
		return nil
	}
	var out []Device
	for _, d := range a.devices {
		if !slices.ContainsFunc(devs, func(h Device) bool { return h.Index == d.Index }) && d.Major >= 0 {
			out = append(out, d)
		}
	}
	return out
}

// UUIDs lists devs' UUIDs.
func UUIDs(devs []Device) []string {
	out := make([]string, len(devs))
	for i, d := range devs {
		out[i] = d.UUID
	}
	return out
}

// VisibleIDs reads NVIDIA_VISIBLE_DEVICES from an environment (KEY=value): the device ids
// to request from Docker; none for "void", "none", "" or an absent variable.
func VisibleIDs(env []string) []string {
	var v string
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == EnvNVIDIA {
			v = val
		}
	}
	switch v {
	case "", Void, "none":
		return nil
	}
	return strings.Split(v, ",")
}
