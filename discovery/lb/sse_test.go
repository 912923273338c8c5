package lb

import (
	"io"
	"strings"
	"testing"
)

func TestSSEReader(t *testing.T) {
	in := ":\n\nevent: a\ndata: {\"x\":\ndata: 1}\n\n: keep-alive\r\n\r\nevent:b\r\ndata:2\r\n\r\ndata: 3\n\nevent: cut\ndata: 4"
	r := newSSEReader(strings.NewReader(in))
	want := []string{"a|{\"x\":\n1}", "b|2", "|3"}
	for _, w := range want {
		name, data, err := r.next()
		if err != nil || name+"|"+string(data) != w {
			t.Fatalf("next = %q, %q, %v; want %q", name, data, err, w)
		}
	}
	if _, _, err := r.next(); err != io.ErrUnexpectedEOF {
		t.Errorf("cut event: err = %v, want %v", err, io.ErrUnexpectedEOF)
	}
	if _, _, err := newSSEReader(strings.NewReader("")).next(); err != io.EOF {
		t.Errorf("empty stream: err = %v, want EOF", err)
	}
}
