package gpu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrMalformed is wrapped by errors about nvidia-smi output that cannot be read.
var ErrMalformed = errors.New("gpu: malformed nvidia-smi output")

// Device is one NVIDIA GPU.
type Device struct {
	// Index is nvidia-smi's index (the --nvidia_gpu_devices numbering).
	Index int
	// UUID is the GPU's UUID ("GPU-…"), what NVIDIA_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES name.
	UUID string
	// Name is the product name.
	Name string
	// MemoryMiB is the total memory.
	MemoryMiB uint64
	// BusID is the PCI bus id as nvidia-smi prints it (may be empty).
	BusID string
	// Path is the character device, /dev/nvidia<minor>.
	Path string
	// Major and Minor are Path's device numbers (-1 when Path could not be read).
	Major, Minor int64
}

func (d Device) String() string {
	return fmt.Sprintf("%d %s %s %dMiB %s %d:%d", d.Index, d.UUID, d.Name, d.MemoryMiB, d.Path, d.Major, d.Minor)
}

// Detector finds the host's GPUs; none and no error where there are none.
type Detector interface {
	Detect(ctx context.Context) ([]Device, error)
}

// SMI detects GPUs with nvidia-smi. The zero value uses the host; tests set the fields.
type SMI struct {
	// Binary is nvidia-smi's name or path; empty means "nvidia-smi" looked up in PATH.
	Binary string
	// Run runs the binary and returns its stdout; nil means exec.
	Run func(ctx context.Context, binary string, args ...string) ([]byte, error)
	// LookPath finds the binary; nil means exec.LookPath.
	LookPath func(string) (string, error)
	// ProcDir is the driver's /proc directory; empty means /proc/driver/nvidia.
	ProcDir string
	// DevDir holds the device files; empty means /dev.
	DevDir string
	// Stat returns a device file's major and minor; nil means stat(2).
	Stat func(path string) (major, minor int64, err error)
}

// QueryArgs are the arguments given to nvidia-smi.
var QueryArgs = []string{"--query-gpu=index,uuid,name,memory.total,pci.bus_id", "--format=csv,noheader,nounits"}

// Detect implements Detector.
func (s SMI) Detect(ctx context.Context) ([]Device, error) {
	bin := s.Binary
	if bin == "" {
		bin = "nvidia-smi"
	}
	look := s.LookPath
	if look == nil {
		look = exec.LookPath
	}
	path, err := look(bin)
	if err != nil {
		return nil, nil // no nvidia-smi: no driver, no GPUs
	}
	procDir := s.ProcDir
	if procDir == "" {
		procDir = "/proc/driver/nvidia"
	}
	run := s.Run
	if run == nil {
		run = runCommand
	}
	out, err := run(ctx, path, QueryArgs...)
	if err != nil {
		// nvidia-smi is installed, but without a loaded driver (or any GPU) it fails: that
		// is a host without GPUs. With GPUs known to the driver it is an error.
		if ents, _ := os.ReadDir(filepath.Join(procDir, "gpus")); len(ents) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("gpu: %s: %w", path, err)
	}
	devs, err := Parse(out)
	if err != nil {
		return nil, err
	}
	devDir := s.DevDir
	if devDir == "" {
		devDir = "/dev"
	}
	stat := s.Stat
	if stat == nil {
		stat = statDevice
	}
	for i := range devs {
		d := &devs[i]
		minor := int64(d.Index)
		if m, ok := procMinor(procDir, d.BusID); ok {
			minor = m
		}
		d.Path = filepath.Join(devDir, "nvidia"+strconv.FormatInt(minor, 10))
		d.Major, d.Minor, err = stat(d.Path)
		if err != nil {
			return nil, fmt.Errorf("gpu: device %d (%s): %w", d.Index, d.UUID, err)
		}
	}
	return devs, nil
}

func runCommand(ctx context.Context, binary string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String() + " " + string(out)); msg != "" {
			return nil, fmt.Errorf("%w: %s", err, msg)
		}
		return nil, err
	}
	return out, nil
}

func statDevice(path string) (int64, int64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return -1, -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return -1, -1, fmt.Errorf("%s is not a character device", path)
	}
	return int64(unix.Major(uint64(st.Rdev))), int64(unix.Minor(uint64(st.Rdev))), nil
}

// procMinor reads "Device Minor:" from the driver's information file of a PCI bus id
// (nvidia-smi prints an 8-digit domain, 00000000:19:00.0; /proc uses 4, 0000:19:00.0).
func procMinor(procDir, busID string) (int64, bool) {
	if len(busID) < 12 {
		return 0, false
	}
	id := strings.ToLower(busID[len(busID)-12:])
	data, err := os.ReadFile(filepath.Join(procDir, "gpus", id, "information"))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "Device Minor" {
			m, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return m, err == nil
		}
	}
	return 0, false
}

// Parse reads nvidia-smi's CSV (index, uuid, name, memory.total[, pci.bus_id], no header, no
// units). An empty output is no GPUs.
func Parse(out []byte) ([]Device, error) {
	var devs []Device
	sc := bufio.NewScanner(bytes.NewReader(out))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if len(fields) != 4 && len(fields) != 5 {
			return nil, fmt.Errorf("%w: line %d: %d fields, want index, uuid, name, memory.total[, pci.bus_id]: %q", ErrMalformed, line, len(fields), text)
		}
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		idx, err := strconv.Atoi(fields[0])
		if err != nil || idx < 0 {
			return nil, fmt.Errorf("%w: line %d: index %q is not a non-negative integer", ErrMalformed, line, fields[0])
		}
		if !strings.HasPrefix(fields[1], "GPU-") && !strings.HasPrefix(fields[1], "MIG-") {
			return nil, fmt.Errorf("%w: line %d: uuid %q does not start with GPU-", ErrMalformed, line, fields[1])
		}
		mem, err := strconv.ParseUint(fields[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: memory.total %q is not a number of MiB", ErrMalformed, line, fields[3])
		}
		d := Device{Index: idx, UUID: fields[1], Name: fields[2], MemoryMiB: mem, Major: -1, Minor: -1}
		if len(fields) == 5 {
			d.BusID = fields[4]
		}
		if slices.ContainsFunc(devs, func(o Device) bool { return o.Index == d.Index || o.UUID == d.UUID }) {
			return nil, fmt.Errorf("%w: line %d: index %d or uuid %s listed twice", ErrMalformed, line, d.Index, d.UUID)
		}
		devs = append(devs, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return devs, nil
}

// Select keeps the devices whose indices are listed (--nvidia_gpu_devices); nil keeps all.
// An index the host does not have is an error.
func Select(devs []Device, indices []int) ([]Device, error) {
	if indices == nil {
		return devs, nil
	}
	var out []Device
	for _, i := range indices {
		j := slices.IndexFunc(devs, func(d Device) bool { return d.Index == i })
		if j < 0 {
			return nil, fmt.Errorf("gpu: --nvidia_gpu_devices: GPU %d does not exist on this host (it has %d)", i, len(devs))
		}
		if !slices.ContainsFunc(out, func(d Device) bool { return d.Index == i }) {
			out = append(out, devs[j])
		}
	}
	return out, nil
}

// ParseIndices reads a --nvidia_gpu_devices value: "0,1", "[0,1]" or "0 1".
func ParseIndices(s string) ([]int, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		i, err := strconv.Atoi(f)
		if err != nil || i < 0 {
			return nil, fmt.Errorf("gpu: --nvidia_gpu_devices: %q is not a GPU index", f)
		}
		out = append(out, i)
	}
	return out, nil
}
