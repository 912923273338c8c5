package resources_test

import (
	"slices"
	"testing"

	"github.com/agoracluster/agora/resources"
)

func TestPlus(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{name: "empty plus empty", a: "", b: "", want: ""},
		{name: "empty identity", a: "cpus:1", b: "", want: "cpus:1"},
		{name: "scalars add", a: "cpus:1.5;mem:100", b: "cpus:0.25", want: "cpus:1.75;mem:100"},
		{name: "roles stay apart", a: "cpus:1", b: "cpus(web):1", want: "cpus:1;cpus(web):1"},
		{name: "ranges unite and merge", a: "ports:[1-5]", b: "ports:[6-10,20-30]", want: "ports:[1-10,20-30]"},
		{name: "overlapping ranges", a: "ports:[1-10]", b: "ports:[5-15]", want: "ports:[1-15]"},
		{name: "sets unite", a: "disks:{a}", b: "disks:{b,a}", want: "disks:{a,b}"},
		{name: "new names", a: "cpus:1", b: "gpus:2;mem:3", want: "cpus:1;gpus:2;mem:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := resources.MustParse(tt.a), resources.MustParse(tt.b)
			if got := a.Plus(b).String(); got != tt.want {
				t.Fatalf("%q + %q = %q, want %q", tt.a, tt.b, got, tt.want)
			}
			if got := b.Plus(a).String(); got != tt.want {
				t.Fatalf("%q + %q = %q, want %q (commutative)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestMinus(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want string
	}{
		{name: "minus empty", a: "cpus:1", b: "", want: "cpus:1"},
		{name: "scalars subtract", a: "cpus:4;mem:1024", b: "cpus:1.5;mem:24", want: "cpus:2.5;mem:1000"},
		{name: "clamps at zero and drops", a: "cpus:1;mem:10", b: "cpus:2", want: "mem:10"},
		{name: "exact zero drops", a: "cpus:1", b: "cpus:1", want: ""},
		{name: "other role untouched", a: "cpus:1;cpus(web):1", b: "cpus(web):1", want: "cpus:1"},
		{name: "reserved does not reduce unreserved", a: "cpus:1", b: "cpus(web):1", want: "cpus:1"},
		{name: "missing names ignored", a: "cpus:1", b: "gpus:1", want: "cpus:1"},
		{name: "ranges split", a: "ports:[1-10]", b: "ports:[3-4,8-8]", want: "ports:[1-2,5-7,9-10]"},
		{name: "ranges removed entirely", a: "ports:[1-10]", b: "ports:[0-20]", want: ""},
		{name: "ranges disjoint", a: "ports:[1-10]", b: "ports:[11-20]", want: "ports:[1-10]"},
		{name: "ranges spanning several", a: "ports:[1-3,5-7,9-11]", b: "ports:[2-10]", want: "ports:[1-1,11-11]"},
		{name: "sets", a: "disks:{a,b,c}", b: "disks:{b,z}", want: "disks:{a,c}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := resources.MustParse(tt.a), resources.MustParse(tt.b)
			if got := a.Minus(b).String(); got != tt.want {
				t.Fatalf("%q - %q = %q, want %q", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "empty in empty", a: "", b: "", want: true},
		{name: "empty in anything", a: "cpus:1", b: "", want: true},
		{name: "anything in empty", a: "", b: "cpus:1", want: false},
		{name: "smaller scalar", a: "cpus:4;mem:100", b: "cpus:4;mem:99.999", want: true},
		{name: "bigger scalar", a: "cpus:4", b: "cpus:4.001", want: false},
		{name: "missing name", a: "cpus:4", b: "cpus:1;mem:1", want: false},
		{name: "reserved needs reservation", a: "cpus:4", b: "cpus(web):1", want: false},
		{name: "reserved fits reserved", a: "cpus:1;cpus(web):2", b: "cpus(web):2", want: true},
		{name: "subrange", a: "ports:[1-10,20-30]", b: "ports:[2-3,25-30]", want: true},
		{name: "range across gap", a: "ports:[1-10,12-30]", b: "ports:[9-13]", want: false},
		{name: "subset", a: "disks:{a,b,c}", b: "disks:{a,c}", want: true},
		{name: "not subset", a: "disks:{a,b}", b: "disks:{c}", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := resources.MustParse(tt.a), resources.MustParse(tt.b)
			if got := a.Contains(b); got != tt.want {
				t.Fatalf("%q.Contains(%q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestQueries(t *testing.T) {
	r := resources.MustParse("cpus:4;cpus(web):2;cpus(eng):1;cpus(eng/web):0.5;cpus(engineering):3;mem:1024;ports:[1-10];ports(web):[20-30];disks:{a};disks(web):{b}")
	tests := []struct {
		name string
		got  string
		want string
	}{
		{name: "Reserved(web)", got: r.Reserved("web").String(), want: "cpus(web):2;disks(web):{b};ports(web):[20-30]"},
		{name: "Reserved(any)", got: r.Reserved("").String(), want: "cpus(eng):1;cpus(eng/web):0.5;cpus(engineering):3;cpus(web):2;disks(web):{b};ports(web):[20-30]"},
		{name: "Unreserved", got: r.Unreserved().String(), want: "cpus:4;disks:{a};mem:1024;ports:[1-10]"},
		{name: "AllocatableTo(web)", got: r.AllocatableTo("web").String(), want: "cpus:4;cpus(web):2;disks:{a};disks(web):{b};mem:1024;ports:[1-10];ports(web):[20-30]"},
		{name: "AllocatableTo(eng/web) includes ancestor", got: r.AllocatableTo("eng/web").String(), want: "cpus:4;cpus(eng):1;cpus(eng/web):0.5;disks:{a};mem:1024;ports:[1-10]"},
		{name: "AllocatableTo(eng) excludes child", got: r.AllocatableTo("eng").String(), want: "cpus:4;cpus(eng):1;disks:{a};mem:1024;ports:[1-10]"},
		{name: "Ports across roles", got: r.Ports().String(), want: "[1-10,20-30]"},
		{name: "Filter", got: r.Filter(func(x resources.Resource) bool { return x.Type == resources.SetType }).String(), want: "disks:{a};disks(web):{b}"},
		{name: "WithRole", got: r.WithRole("").Filter(func(x resources.Resource) bool { return x.Name == "cpus" }).String(), want: "cpus:10.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got  %q\nwant %q", tt.got, tt.want)
			}
		})
	}
	if got := r.Scalar("cpus"); got != 10.5 {
		t.Errorf("Scalar(cpus) = %v, want 10.5", got)
	}
	if got := r.Scalar("gpus"); got != 0 {
		t.Errorf("Scalar(gpus) = %v, want 0", got)
	}
	if got := r.Set("disks"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Set(disks) = %v", got)
	}
	if got := r.Names(); !slices.Equal(got, []string{"cpus", "disks", "mem", "ports"}) {
		t.Errorf("Names() = %v", got)
	}
}

func TestOf(t *testing.T) {
	got := resources.Of(
		resources.ScalarResource("cpus", "", 1),
		resources.ScalarResource("cpus", "*", 0.5),
		resources.ScalarResource("mem", "web", 0),
		resources.RangesResource("ports", "", resources.Ranges{{Begin: 5, End: 6}, {Begin: 1, End: 4}, {Begin: 9, End: 8}}),
		resources.SetResource("disks", "web", "b", "a", "b"),
	)
	if want := "cpus:1.5;disks(web):{a,b};ports:[1-6]"; got.String() != want {
		t.Fatalf("Of(...) = %q, want %q", got, want)
	}
}

func TestImmutable(t *testing.T) {
	a := resources.MustParse("cpus:2;ports:[1-10];disks:{a,b}")
	b := resources.MustParse("cpus:1;ports:[3-4,20-20];disks:{b,c}")
	before := a.String()
	_ = a.Plus(b)
	_ = a.Minus(b)
	_ = b.Minus(a)
	_ = a.WithRole("web")
	if a.String() != before {
		t.Fatalf("operand changed: %q -> %q", before, a.String())
	}
}
