package apicodec

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func TestForRequest(t *testing.T) {
	tests := []struct {
		contentType string
		want        Codec
		wantErr     error
	}{
		{"application/x-protobuf", Protobuf, nil},
		{"application/json", JSON, nil},
		{"application/json; charset=utf-8", JSON, nil},
		{"Application/JSON", JSON, nil},
		{"", Codec{}, ErrUnsupportedMediaType},
		{"text/plain", Codec{}, ErrUnsupportedMediaType},
		{";;", Codec{}, ErrUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			got, err := ForRequest(tt.contentType)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("ForRequest(%q) = %v, %v; want %v, %v", tt.contentType, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestForResponse(t *testing.T) {
	tests := []struct {
		accept  string
		want    Codec
		wantErr error
	}{
		{"", JSON, nil},
		{"*/*", JSON, nil},
		{"application/*", JSON, nil},
		{"application/json", JSON, nil},
		{"application/x-protobuf", Protobuf, nil},
		{"application/json;q=0.5, application/x-protobuf", Protobuf, nil},
		{"application/x-protobuf;q=0.5, application/json", JSON, nil},
		{"application/json;q=0, application/x-protobuf;q=0.1", Protobuf, nil},
		{"text/html", Codec{}, ErrNotAcceptable},
		{"application/json;q=0", Codec{}, ErrNotAcceptable},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			got, err := ForResponse(tt.accept)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("ForResponse(%q) = %v, %v; want %v, %v", tt.accept, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	in := &mesos.Offer{
		Id: &mesos.OfferID{Value: proto.String("o1")}, FrameworkId: &mesos.FrameworkID{Value: proto.String("f1")},
		AgentId: &mesos.AgentID{Value: proto.String("a1")}, Hostname: proto.String("h"),
		Resources: []*mesos.Resource{{Name: proto.String("ports"), Type: mesos.Value_RANGES.Enum(),
			Ranges: &mesos.Value_Ranges{Range: []*mesos.Value_Range{{Begin: proto.Uint64(31000), End: proto.Uint64(32000)}}}}},
	}
	for _, c := range []Codec{Protobuf, JSON} {
		t.Run(c.ContentType(), func(t *testing.T) {
			b, err := c.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			out := &mesos.Offer{}
			if err := c.Unmarshal(b, out); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(in, out) {
				t.Fatalf("round trip changed the message: %v", out)
			}
		})
	}
	// JSON writes 64-bit integers as numbers, as Mesos does.
	b, _ := JSON.Marshal(in)
	if want := `"begin":31000`; !strings.Contains(string(b), want) {
		t.Errorf("JSON %s does not contain %s", b, want)
	}
}
