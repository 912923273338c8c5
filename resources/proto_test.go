package resources_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

func TestToProto(t *testing.T) {
	r := resources.MustParse("cpus:1.5;cpus(web):2;ports:[1-2,5-6];disks:{a,b}")
	got := r.ToProtoAllocated("web")
	want := []string{
		`name:"cpus" type:SCALAR scalar:{value:1.5} allocation_info:{role:"web"}`,
		`name:"cpus" type:SCALAR scalar:{value:2} role:"web" allocation_info:{role:"web"} reservations:{type:STATIC role:"web"}`,
		`name:"disks" type:SET set:{item:"a" item:"b"} allocation_info:{role:"web"}`,
		`name:"ports" type:RANGES ranges:{range:{begin:1 end:2} range:{begin:5 end:6}} allocation_info:{role:"web"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	opts := prototext.MarshalOptions{}
	for i := range want {
		s := strings.Join(strings.Fields(opts.Format(got[i])), " ")
		s = strings.ReplaceAll(s, ": ", ":")
		if s != want[i] {
			t.Errorf("message %d:\n got: %s\nwant: %s", i, s, want[i])
		}
	}
	back, err := resources.FromProto(got)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(r) {
		t.Fatalf("FromProto(ToProto(r)) = %v, want %v", back, r)
	}
}

func scalarPB(name string, v float64) *mesos.Resource {
	return &mesos.Resource{Name: proto.String(name), Type: mesos.Value_SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: proto.Float64(v)}}
}

func TestFromProto(t *testing.T) {
	refined := scalarPB("cpus", 1)
	refined.Reservations = []*mesos.Resource_ReservationInfo{{Role: proto.String("eng")}, {Role: proto.String("eng/web")}}
	legacy := scalarPB("cpus", 2)
	legacy.Role = proto.String("web")
	ranges := &mesos.Resource{Name: proto.String("ports"), Type: mesos.Value_RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: []*mesos.Value_Range{
		{Begin: proto.Uint64(10), End: proto.Uint64(20)}, {Begin: proto.Uint64(1), End: proto.Uint64(10)},
	}}}
	set := &mesos.Resource{Name: proto.String("disks"), Type: mesos.Value_SET.Enum(), Set: &mesos.Value_Set{Item: []string{"b", "a"}}}
	got, err := resources.FromProto([]*mesos.Resource{refined, legacy, scalarPB("cpus", 0.5), scalarPB("mem", 0), ranges, set, scalarPB("cpus", 0.5)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "cpus:1;cpus(reservations: [(STATIC,eng),(DYNAMIC,eng/web)]):1;cpus(web):2;disks:{a,b};ports:[1-20]"; got.String() != want {
		t.Fatalf("FromProto = %q, want %q", got, want)
	}
}

func TestFromProtoErrors(t *testing.T) {
	badRange := &mesos.Resource{Name: proto.String("ports"), Type: mesos.Value_RANGES.Enum(), Ranges: &mesos.Value_Ranges{Range: []*mesos.Value_Range{
		{Begin: proto.Uint64(5), End: proto.Uint64(1)},
	}}}
	text := &mesos.Resource{Name: proto.String("x"), Type: mesos.Value_TEXT.Enum()}
	noScalar := &mesos.Resource{Name: proto.String("cpus"), Type: mesos.Value_SCALAR.Enum()}
	badRole := scalarPB("cpus", 1)
	badRole.Reservations = []*mesos.Resource_ReservationInfo{{Role: proto.String("")}}
	tests := []struct {
		name string
		in   *mesos.Resource
		want string
	}{
		{name: "negative", in: scalarPB("cpus", -1), want: `resources: resource 0 ("cpus"): negative scalar value -1`},
		{name: "NaN", in: scalarPB("cpus", math.NaN()), want: `resources: resource 0 ("cpus"): invalid scalar value NaN`},
		{name: "Inf", in: scalarPB("cpus", math.Inf(1)), want: `resources: resource 0 ("cpus"): invalid scalar value +Inf`},
		{name: "missing scalar", in: noScalar, want: `resources: resource 0 ("cpus"): SCALAR resource without scalar value`},
		{name: "inverted range", in: badRange, want: `resources: resource 0 ("ports"): range [5-1]: end is below begin`},
		{name: "text", in: text, want: `resources: resource 0 ("x"): unsupported resource type TEXT`},
		{name: "empty reservation role", in: badRole, want: `resources: resource 0 ("cpus"): reservations: reservation 0: empty role`},
		{name: "empty name", in: scalarPB("", 1), want: `resources: resource 0 (""): missing resource name`},
		{name: "nil", in: nil, want: `resources: resource 0 (""): nil resource`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resources.FromProto([]*mesos.Resource{tt.in})
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestAttributes(t *testing.T) {
	attrs, err := resources.ParseAttributes(" rack:r1; zone : a ;level:3;weight:-0.5;ports:[1-2,3-5];disks:{b,a};url:http://x ")
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []mesos.Value_Type{mesos.Value_TEXT, mesos.Value_TEXT, mesos.Value_SCALAR, mesos.Value_SCALAR, mesos.Value_RANGES, mesos.Value_SET, mesos.Value_TEXT}
	if len(attrs) != len(wantTypes) {
		t.Fatalf("got %d attributes, want %d", len(attrs), len(wantTypes))
	}
	for i, a := range attrs {
		if a.GetType() != wantTypes[i] {
			t.Errorf("attribute %q type = %v, want %v", a.GetName(), a.GetType(), wantTypes[i])
		}
	}
	const want = "rack:r1;zone:a;level:3;weight:-0.5;ports:[1-5];disks:{a,b};url:http://x"
	if got := resources.FormatAttributes(attrs); got != want {
		t.Fatalf("FormatAttributes = %q, want %q", got, want)
	}
	m := resources.AttributeMap(attrs)
	if m["rack"] != "r1" || m["level"] != "3" || m["ports"] != "[1-5]" || len(m) != 7 {
		t.Fatalf("AttributeMap = %v", m)
	}
}

func TestParseAttributesErrors(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{text: "rack", want: `attributes: "rack": missing ':' between name and value`},
		{text: "rack:", want: `attributes: "rack:": missing value`},
		{text: ":r1", want: `attributes: ":r1": attribute name: missing resource name`},
		{text: "ports:[2-1]", want: `attributes: "ports:[2-1]": invalid ranges value: range "2-1": end is below begin`},
		{text: "x:a(b)", want: `attributes: "x:a(b)": not a scalar, ranges, set or text value`},
		{text: "rack:a;rack:b", want: `attributes: "rack:b": duplicate attribute "rack"`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := resources.ParseAttributes(tt.text)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

// FuzzParseAttributes checks that ParseAttributes never panics and that
// FormatAttributes renders what parses back to the same attributes.
func FuzzParseAttributes(f *testing.F) {
	for _, s := range []string{"rack:r1;zone:a", "level:3;w:-0.5", "ports:[1-2];d:{a,b}", "x:1e400", "u:http://a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		attrs, err := resources.ParseAttributes(text)
		if err != nil {
			return
		}
		s := resources.FormatAttributes(attrs)
		again, err := resources.ParseAttributes(s)
		if err != nil {
			t.Fatalf("ParseAttributes(FormatAttributes()) of %q: rendered %q: %v", text, s, err)
		}
		if len(again) != len(attrs) {
			t.Fatalf("round trip of %q changed the count", text)
		}
		for i := range attrs {
			if !proto.Equal(attrs[i], again[i]) {
				t.Fatalf("round trip of %q: %v became %v", text, attrs[i], again[i])
			}
		}
	})
}

func TestParseJSON(t *testing.T) {
	text := `[
	  {"name":"cpus","type":"SCALAR","scalar":{"value":4}},
	  {"name":"mem","type":"SCALAR","scalar":{"value":1024},"role":"*"},
	  {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]},"reservations":[{"type":"STATIC","role":"eng"}],"unknown_field":1}
	]`
	got, err := resources.Parse(text, "web")
	if err != nil {
		t.Fatal(err)
	}
	if want := "cpus(web):4;mem:1024;ports(eng):[31000-32000]"; got.String() != want {
		t.Fatalf("Parse(JSON) = %q, want %q", got, want)
	}
	for _, bad := range []string{`[{"name":"cpus"`, `[{"name":"cpus","type":"SCALAR","scalar":{"value":-1}}]`, `[{"name":1}]`} {
		if _, err := resources.Parse(bad, ""); err == nil || !strings.HasPrefix(err.Error(), "resources: ") {
			t.Errorf("Parse(%s): err = %v, want resources: error", bad, err)
		}
	}
}

func TestTextMarshaling(t *testing.T) {
	type doc struct {
		R resources.Resources `json:"r"`
	}
	in := doc{R: resources.MustParse("cpus:1.5;ports(web):[1-2]")}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"r":"cpus:1.5;ports(web):[1-2]"}` {
		t.Fatalf("json = %s", b)
	}
	var out doc
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.R.Equal(in.R) {
		t.Fatalf("round trip = %v, want %v", out.R, in.R)
	}
	n := 0
	for r := range in.R.Each {
		if r.Name == "" {
			t.Fatal("empty entry")
		}
		n++
	}
	if n != 2 {
		t.Fatalf("Each yielded %d entries, want 2", n)
	}
}
