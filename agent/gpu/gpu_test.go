package gpu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const twoH200 = `0, GPU-11111111-2222-3333-4444-555555555555, NVIDIA H200, 143771, 00000000:19:00.0
1, GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee, NVIDIA H200, 143771, 00000000:3B:00.0
`

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []Device
		wantErr bool
	}{
		{name: "empty", out: "", want: nil},
		{name: "blank lines", out: "\n\n", want: nil},
		{name: "four fields", out: "0, GPU-abc, Tesla T4, 15360\n", want: []Device{
			{Index: 0, UUID: "GPU-abc", Name: "Tesla T4", MemoryMiB: 15360, Major: -1, Minor: -1}}},
		{name: "five fields", out: twoH200, want: []Device{
			{Index: 0, UUID: "GPU-11111111-2222-3333-4444-555555555555", Name: "NVIDIA H200", MemoryMiB: 143771, BusID: "00000000:19:00.0", Major: -1, Minor: -1},
			{Index: 1, UUID: "GPU-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", Name: "NVIDIA H200", MemoryMiB: 143771, BusID: "00000000:3B:00.0", Major: -1, Minor: -1}}},
		{name: "too few fields", out: "0, GPU-abc, T4\n", wantErr: true},
		{name: "too many fields", out: "0, GPU-abc, T4, 1, 2, 3\n", wantErr: true},
		{name: "bad index", out: "x, GPU-abc, T4, 15360\n", wantErr: true},
		{name: "negative index", out: "-1, GPU-abc, T4, 15360\n", wantErr: true},
		{name: "bad uuid", out: "0, abc, T4, 15360\n", wantErr: true},
		{name: "memory with units", out: "0, GPU-abc, T4, 15360 MiB\n", wantErr: true},
		{name: "not supported", out: "0, GPU-abc, T4, [N/A]\n", wantErr: true},
		{name: "duplicate index", out: "0, GPU-a, T4, 1\n0, GPU-b, T4, 1\n", wantErr: true},
		{name: "error text", out: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.out))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse error = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Parse = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(twoH200))
	f.Add([]byte("0, GPU-abc, T4, 15360\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		devs, err := Parse(data)
		if err != nil {
			return
		}
		for _, d := range devs {
			if d.Index < 0 || d.UUID == "" {
				t.Fatalf("accepted %+v", d)
			}
		}
	})
}

// fakeSMI is an SMI with canned output and device numbers.
func fakeSMI(t *testing.T, out string, runErr error, procGPUs ...string) SMI {
	t.Helper()
	proc := t.TempDir()
	for _, g := range procGPUs {
		dir := filepath.Join(proc, "gpus", g)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return SMI{
		LookPath: func(string) (string, error) { return "/usr/bin/nvidia-smi", nil },
		Run: func(_ context.Context, bin string, args ...string) ([]byte, error) {
			if bin != "/usr/bin/nvidia-smi" || !slices.Equal(args, QueryArgs) {
				t.Errorf("ran %s %v", bin, args)
			}
			return []byte(out), runErr
		},
		ProcDir: proc,
		DevDir:  "/dev",
		Stat: func(p string) (int64, int64, error) {
			var minor int64
			switch p {
			case "/dev/nvidia0":
				minor = 0
			case "/dev/nvidia1":
				minor = 1
			case "/dev/nvidia5":
				minor = 5
			default:
				return -1, -1, os.ErrNotExist
			}
			return 195, minor, nil
		},
	}
}

func TestDetect(t *testing.T) {
	t.Run("no nvidia-smi", func(t *testing.T) {
		s := SMI{LookPath: func(string) (string, error) { return "", errors.New("not found") }}
		devs, err := s.Detect(context.Background())
		if err != nil || devs != nil {
			t.Fatalf("Detect = %v, %v; want nothing", devs, err)
		}
	})
	t.Run("nvidia-smi without driver", func(t *testing.T) {
		devs, err := fakeSMI(t, "", errors.New("exit status 9")).Detect(context.Background())
		if err != nil || devs != nil {
			t.Fatalf("Detect = %v, %v; want nothing", devs, err)
		}
	})
	t.Run("nvidia-smi failing with GPUs", func(t *testing.T) {
		_, err := fakeSMI(t, "", errors.New("exit status 15"), "0000:19:00.0").Detect(context.Background())
		if err == nil {
			t.Fatal("Detect succeeded; want the failure")
		}
	})
	t.Run("two GPUs", func(t *testing.T) {
		devs, err := fakeSMI(t, twoH200, nil).Detect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(devs) != 2 || devs[1].Path != "/dev/nvidia1" || devs[1].Major != 195 || devs[1].Minor != 1 {
			t.Fatalf("Detect = %v", devs)
		}
	})
	t.Run("minor from proc", func(t *testing.T) {
		s := fakeSMI(t, twoH200, nil, "0000:3b:00.0")
		info := "Model: NVIDIA H200\nDevice Minor: \t 5\n"
		if err := os.WriteFile(filepath.Join(s.ProcDir, "gpus", "0000:3b:00.0", "information"), []byte(info), 0o644); err != nil {
			t.Fatal(err)
		}
		devs, err := s.Detect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if devs[1].Path != "/dev/nvidia5" || devs[1].Minor != 5 || devs[0].Path != "/dev/nvidia0" {
			t.Fatalf("Detect = %v", devs)
		}
	})
	t.Run("missing device file", func(t *testing.T) {
		_, err := fakeSMI(t, "7, GPU-x, T4, 1\n", nil).Detect(context.Background())
		if err == nil {
			t.Fatal("Detect succeeded without /dev/nvidia7")
		}
	})
	t.Run("malformed", func(t *testing.T) {
		_, err := fakeSMI(t, "garbage\n", nil).Detect(context.Background())
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Detect error = %v, want ErrMalformed", err)
		}
	})
}

func TestSelectAndParseIndices(t *testing.T) {
	devs, _ := Parse([]byte(twoH200))
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{in: "", want: []int{0, 1}},
		{in: "0,1", want: []int{0, 1}},
		{in: "[1]", want: []int{1}},
		{in: "1 0", want: []int{1, 0}},
		{in: "0,0", want: []int{0}},
		{in: "2", wantErr: true},
		{in: "a", wantErr: true},
		{in: "-1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			idx, err := ParseIndices(tt.in)
			var got []Device
			if err == nil {
				got, err = Select(devs, idx)
			}
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted %q", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotIdx []int
			for _, d := range got {
				gotIdx = append(gotIdx, d.Index)
			}
			if !slices.Equal(gotIdx, tt.want) {
				t.Fatalf("selected %v, want %v", gotIdx, tt.want)
			}
		})
	}
}

func TestAllocator(t *testing.T) {
	devs, _ := Parse([]byte(twoH200 + "2, GPU-c, NVIDIA H200, 143771\n"))
	for i := range devs {
		devs[i].Major, devs[i].Minor = 195, int64(i)
	}
	a := NewAllocator(devs)
	got, err := a.Allocate("c1", 2)
	if err != nil || len(got) != 2 || got[0].Index != 0 || got[1].Index != 1 {
		t.Fatalf("Allocate(c1, 2) = %v, %v", got, err)
	}
	if _, err := a.Allocate("c2", 2); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("Allocate(c2, 2) error = %v, want ErrInsufficient", err)
	}
	if got, err := a.Allocate("c1", 2); err != nil || len(got) != 2 {
		t.Fatalf("Allocate(c1, 2) again = %v, %v", got, err)
	}
	if _, err := a.Allocate("c1", 1); err == nil {
		t.Fatal("Allocate(c1, 1) with 2 held succeeded")
	}
	c2, err := a.Allocate("c2", 1)
	if err != nil || c2[0].Index != 2 {
		t.Fatalf("Allocate(c2, 1) = %v, %v", c2, err)
	}
	if a.Free() != 0 {
		t.Fatalf("Free = %d, want 0", a.Free())
	}
	if deny := a.Deny(c2); len(deny) != 2 || deny[0].Index != 0 || deny[1].Index != 1 {
		t.Fatalf("Deny(c2) = %v", deny)
	}
	if env := a.Env(c2); !slices.Equal(env, []string{"NVIDIA_VISIBLE_DEVICES=GPU-c", "CUDA_VISIBLE_DEVICES=GPU-c"}) {
		t.Fatalf("Env(c2) = %v", env)
	}
	if env := a.Env(nil); !slices.Equal(env, []string{"NVIDIA_VISIBLE_DEVICES=void", "CUDA_VISIBLE_DEVICES="}) {
		t.Fatalf("Env(nil) = %v", env)
	}
	a.Release("c1")
	if a.Free() != 2 || len(a.Held("c1")) != 0 {
		t.Fatalf("after Release: free %d, held %v", a.Free(), a.Held("c1"))
	}

	// Recovery.
	b := NewAllocator(devs)
	if err := b.Restore("c2", []string{"GPU-c"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Restore("c3", []string{"GPU-c"}); err == nil {
		t.Fatal("Restore of a device held by another container succeeded")
	}
	if err := b.Restore("c3", []string{"GPU-unknown"}); err == nil {
		t.Fatal("Restore of an unknown device succeeded")
	}
	if got := b.Held("c2"); len(got) != 1 || got[0].UUID != "GPU-c" {
		t.Fatalf("Held(c2) = %v", got)
	}

	var none *Allocator
	if none.Env(nil) != nil || none.Deny(nil) != nil || none.Free() != 0 {
		t.Fatal("nil Allocator is not empty")
	}
	if _, err := none.Allocate("c", 1); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("nil Allocate error = %v", err)
	}
	if got, err := none.Allocate("c", 0); err != nil || got != nil {
		t.Fatalf("nil Allocate(0) = %v, %v", got, err)
	}
}

func TestVisibleIDs(t *testing.T) {
	tests := []struct {
		env  []string
		want []string
	}{
		{nil, nil},
		{[]string{"NVIDIA_VISIBLE_DEVICES=void"}, nil},
		{[]string{"NVIDIA_VISIBLE_DEVICES="}, nil},
		{[]string{"NVIDIA_VISIBLE_DEVICES=GPU-a,GPU-b"}, []string{"GPU-a", "GPU-b"}},
	}
	for _, tt := range tests {
		if got := VisibleIDs(tt.env); !slices.Equal(got, tt.want) {
			t.Errorf("VisibleIDs(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}
