package master

import (
	"errors"
	"testing"
)

func TestResponseCodec(t *testing.T) {
	tests := []struct {
		accept string
		want   string
		err    error
	}{
		{"", mediaJSON, nil},
		{"*/*", mediaJSON, nil},
		{"application/json", mediaJSON, nil},
		{"application/x-protobuf", mediaProtobuf, nil},
		{"application/x-protobuf, application/json;q=0.5", mediaProtobuf, nil},
		{"application/json;q=0.1, application/x-protobuf", mediaProtobuf, nil},
		{"application/*", mediaJSON, nil},
		{"text/html", "", errNotAcceptable},
		{"application/json;q=0", "", errNotAcceptable},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			c, err := responseCodec(tt.accept)
			if !errors.Is(err, tt.err) || c.media != tt.want {
				t.Errorf("responseCodec(%q) = %q, %v; want %q, %v", tt.accept, c.media, err, tt.want, tt.err)
			}
		})
	}
}

func TestRequestCodec(t *testing.T) {
	tests := []struct {
		contentType string
		want        string
		err         error
	}{
		{"application/json", mediaJSON, nil},
		{"application/json; charset=utf-8", mediaJSON, nil},
		{"Application/X-Protobuf", mediaProtobuf, nil},
		{"", "", errUnsupportedMedia},
		{"text/plain", "", errUnsupportedMedia},
		{";;", "", errUnsupportedMedia},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			c, err := requestCodec(tt.contentType)
			if !errors.Is(err, tt.err) || c.media != tt.want {
				t.Errorf("requestCodec(%q) = %q, %v; want %q, %v", tt.contentType, c.media, err, tt.want, tt.err)
			}
		})
	}
}
