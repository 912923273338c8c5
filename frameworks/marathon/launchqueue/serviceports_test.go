package launchqueue

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"pgregory.net/rapid"
)

type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func mustApp(t fataler, body string) *app.App {
	t.Helper()
	a, err := app.Parse([]byte(body), "/")
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	return a
}

func ports(a *app.App) []int {
	var out []int
	for _, p := range servicePorts(a) {
		out = append(out, *p)
	}
	return out
}

func TestAssign(t *testing.T) {
	r := DefaultServicePorts()
	tests := []struct {
		name   string
		app    string
		others []string
		want   []int
	}{
		{"default port", `{"id":"a","cmd":"x"}`, nil, []int{10000}},
		{"skips taken", `{"id":"a","cmd":"x","portDefinitions":[{"port":0},{"port":0}]}`,
			[]string{`{"id":"b","cmd":"x","portDefinitions":[{"port":10000},{"port":10002}]}`}, []int{10001, 10003}},
		{"keeps fixed ports and avoids them", `{"id":"a","cmd":"x","portDefinitions":[{"port":0},{"port":10000}]}`, nil, []int{10001, 10000}},
		{"port mappings", `{"id":"a","container":{"docker":{"image":"i"},"portMappings":[{"containerPort":80},{"containerPort":81,"servicePort":12000}]},"networks":[{"mode":"container/bridge"}]}`,
			[]string{`{"id":"b","cmd":"x","portDefinitions":[{"port":10001}]}`}, []int{10000, 12000}},
		{"requirePorts leaves host ports", `{"id":"a","cmd":"x","requirePorts":true,"portDefinitions":[{"port":8080}]}`, nil, []int{8080}},
		{"no ports", `{"id":"a","cmd":"x","portDefinitions":[]}`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var others []*app.App
			for _, o := range tt.others {
				others = append(others, mustApp(t, o))
			}
			a := mustApp(t, tt.app)
			before := ports(a)
			got, err := r.Assign(a, others)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ports(got), tt.want) {
				t.Fatalf("ports = %v, want %v", ports(got), tt.want)
			}
			if !reflect.DeepEqual(ports(a), before) {
				t.Fatal("Assign modified its input")
			}
		})
	}
}

func TestAssignExhausted(t *testing.T) {
	r := ServicePorts{Min: 10000, Max: 10001}
	a := mustApp(t, `{"id":"a","cmd":"x","portDefinitions":[{"port":0},{"port":0},{"port":0}]}`)
	if _, err := r.Assign(a, nil); !errors.Is(err, ErrNoServicePorts) {
		t.Fatalf("got %v, want ErrNoServicePorts", err)
	}
}

// TestAssignUnique assigns ports to a random sequence of apps, each against
// the apps assigned before it, and checks that dynamic ports are unique
// across the cluster, inside the range, that fixed ports are kept, and that
// the assignment is deterministic.
func TestAssignUnique(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		r := ServicePorts{Min: 10000, Max: 10000 + rapid.IntRange(5, 60).Draw(rt, "rangeSize")}
		nApps := rapid.IntRange(1, 12).Draw(rt, "apps")
		var assigned []*app.App
		var again []*app.App
		for i := 0; i < nApps; i++ {
			nPorts := rapid.IntRange(0, 4).Draw(rt, "ports")
			body := fmt.Sprintf(`{"id":"a%d","cmd":"x","portDefinitions":[`, i)
			var fixed []int
			for j := 0; j < nPorts; j++ {
				p := 0
				if rapid.Bool().Draw(rt, "fixed") {
					p = rapid.IntRange(20001, 30000).Draw(rt, "fixedPort")
					for _, f := range fixed {
						if f == p {
							p = 0
						}
					}
					if p != 0 {
						fixed = append(fixed, p)
					}
				}
				if j > 0 {
					body += ","
				}
				body += fmt.Sprintf(`{"port":%d}`, p)
			}
			a := mustApp(rt, body+"]}")
			got, err := r.Assign(a, assigned)
			got2, err2 := r.Assign(a, again)
			if (err == nil) != (err2 == nil) || (err == nil && !reflect.DeepEqual(ports(got), ports(got2))) {
				rt.Fatalf("not deterministic: %v %v / %v %v", ports(got), err, ports(got2), err2)
			}
			if err != nil {
				if !errors.Is(err, ErrNoServicePorts) {
					rt.Fatal(err)
				}
				continue
			}
			for j, p := range ports(got) {
				if orig := ports(a)[j]; orig != 0 && p != orig {
					rt.Fatalf("fixed port %d changed to %d", orig, p)
				}
				if ports(a)[j] == 0 && (p < r.Min || p > r.Max) {
					rt.Fatalf("port %d outside %d-%d", p, r.Min, r.Max)
				}
			}
			assigned = append(assigned, got)
			again = append(again, got2)
		}
		seen := map[int]string{}
		for _, a := range assigned {
			for _, p := range ports(a) {
				if prev, ok := seen[p]; ok && p >= r.Min && p <= r.Max {
					rt.Fatalf("service port %d held by %s and %s", p, prev, a.ID)
				}
				seen[p] = a.ID
			}
		}
	})
}
