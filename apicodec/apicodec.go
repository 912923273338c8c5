// Package apicodec is the encoding side of Agora's HTTP APIs (the Mesos v1 scheduler and
// executor APIs and Agora's agent protocol): the two media types, protobuf and JSON with
// Mesos's field names, and the content negotiation every server and client does the same way.
package apicodec

import (
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Media types of the APIs.
const (
	MediaProtobuf = "application/x-protobuf"
	MediaJSON     = "application/json"
)

// Sentinel errors of content negotiation; servers answer them with 415 and 406.
var (
	ErrUnsupportedMediaType = errors.New("unsupported content type")
	ErrNotAcceptable        = errors.New("not acceptable")
)

// Codec encodes and decodes messages in one media type. The zero Codec is protobuf.
type Codec struct{ json bool }

// The two codecs.
var (
	Protobuf = Codec{}
	JSON     = Codec{json: true}
)

// ContentType is the codec's media type.
func (c Codec) ContentType() string {
	if c.json {
		return MediaJSON
	}
	return MediaProtobuf
}

// String is the media type, for logs and test failures.
func (c Codec) String() string { return c.ContentType() }

// Marshal encodes m: binary protobuf, or JSON as Mesos writes it (proto field names, 64-bit
// integers as numbers).
func (c Codec) Marshal(m proto.Message) ([]byte, error) {
	if c.json {
		return mesos.MarshalJSON(m)
	}
	return proto.Marshal(m)
}

// Unmarshal decodes b into m; JSON ignores unknown fields, as Mesos does.
func (c Codec) Unmarshal(b []byte, m proto.Message) error {
	if c.json {
		return mesos.UnmarshalJSON(b, m)
	}
	return proto.Unmarshal(b, m)
}

// ForRequest picks the codec for a request's Content-Type header.
func ForRequest(contentType string) (Codec, error) {
	if contentType == "" {
		return Codec{}, fmt.Errorf("%w: expecting 'Content-Type' to be present", ErrUnsupportedMediaType)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Codec{}, fmt.Errorf("%w: %q", ErrUnsupportedMediaType, contentType)
	}
	switch strings.ToLower(mt) {
	case MediaProtobuf:
		return Protobuf, nil
	case MediaJSON:
		return JSON, nil
	}
	return Codec{}, fmt.Errorf("%w: expecting 'Content-Type' of %s or %s, got %q",
		ErrUnsupportedMediaType, MediaJSON, MediaProtobuf, contentType)
}

// ForResponse picks the codec for a request's Accept header as Mesos does: JSON unless
// protobuf is strictly preferred (by q-value) or the only one acceptable; an absent header
// accepts anything. It fails when neither media type is acceptable.
func ForResponse(accept string) (Codec, error) {
	if strings.TrimSpace(accept) == "" {
		return JSON, nil
	}
	bestJSON, bestProto := -1.0, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(qs, 64); err != nil {
				q = 0
			}
		}
		if q <= 0 {
			continue
		}
		mt = strings.ToLower(mt)
		wildcard := mt == "*/*" || mt == "application/*"
		if (wildcard || mt == MediaJSON) && q > bestJSON {
			bestJSON = q
		}
		if (wildcard || mt == MediaProtobuf) && q > bestProto {
			bestProto = q
		}
	}
	switch {
	case bestJSON < 0 && bestProto < 0:
		return Codec{}, fmt.Errorf("%w: expecting 'Accept' to allow %s or %s", ErrNotAcceptable, MediaProtobuf, MediaJSON)
	case bestProto > bestJSON:
		return Protobuf, nil
	}
	return JSON, nil
}
