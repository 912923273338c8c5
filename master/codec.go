package master

import (
	"errors"
	"fmt"
	"mime"
	"strings"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Media types of the Mesos v1 HTTP APIs.
const (
	mediaProtobuf = "application/x-protobuf"
	mediaJSON     = "application/json"
)

// codec encodes and decodes messages in one media type.
type codec struct{ media string }

var (
	jsonCodec     = codec{mediaJSON}
	protobufCodec = codec{mediaProtobuf}
)

var (
	errUnsupportedMedia = errors.New("unsupported content type")
	errNotAcceptable    = errors.New("not acceptable")
)

func (c codec) marshal(m proto.Message) ([]byte, error) {
	if c.media == mediaJSON {
		return mesos.MarshalJSON(m)
	}
	return proto.Marshal(m)
}

func (c codec) unmarshal(b []byte, m proto.Message) error {
	if c.media == mediaJSON {
		return mesos.UnmarshalJSON(b, m)
	}
	return proto.Unmarshal(b, m)
}

// requestCodec picks the codec for a request's Content-Type header.
func requestCodec(contentType string) (codec, error) {
	if contentType == "" {
		return codec{}, fmt.Errorf("%w: expecting 'Content-Type' to be present", errUnsupportedMedia)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return codec{}, fmt.Errorf("%w: %q", errUnsupportedMedia, contentType)
	}
	switch strings.ToLower(mt) {
	case mediaProtobuf:
		return protobufCodec, nil
	case mediaJSON:
		return jsonCodec, nil
	}
	return codec{}, fmt.Errorf("%w: expecting 'Content-Type' of %s or %s, got %q", errUnsupportedMedia, mediaJSON, mediaProtobuf, contentType)
}

// responseCodec picks the codec for a request's Accept header: JSON unless only
// protobuf is acceptable; an error when neither is.
func responseCodec(accept string) (codec, error) {
	if strings.TrimSpace(accept) == "" {
		return jsonCodec, nil
	}
	bestJSON, bestProto := -1.0, -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if _, err := fmt.Sscanf(qs, "%g", &q); err != nil {
				q = 0
			}
		}
		mt = strings.ToLower(mt)
		match := func(target string) bool {
			if mt == "*/*" || mt == target {
				return true
			}
			return mt == "application/*"
		}
		if match(mediaJSON) && q > bestJSON && q > 0 {
			bestJSON = q
		}
		if match(mediaProtobuf) && q > bestProto && q > 0 {
			bestProto = q
		}
	}
	switch {
	case bestJSON < 0 && bestProto < 0:
		return codec{}, fmt.Errorf("%w: expecting 'Accept' to allow %s or %s", errNotAcceptable, mediaProtobuf, mediaJSON)
	case bestProto > bestJSON:
		return protobufCodec, nil
	}
	return jsonCodec, nil
}
