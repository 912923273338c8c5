package agent

import (
	"net"
	"strconv"
	"testing"
)

func itoa(n int) string { return strconv.Itoa(n) }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
