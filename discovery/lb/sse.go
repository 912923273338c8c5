package lb

import (
	"bufio"
	"io"
	"strings"
)

// sseReader reads server-sent events (text/event-stream): "event:" names the event, "data:"
// lines are joined with newlines, a blank line ends the event, ":" lines are comments.
type sseReader struct {
	r *bufio.Reader
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{r: bufio.NewReaderSize(r, 64<<10)} }

// next returns the next event's name and data; io.EOF (or the read error) at the end.
func (s *sseReader) next() (name string, data []byte, err error) {
	var buf strings.Builder
	hasData := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line != "" {
				err = io.ErrUnexpectedEOF
			}
			return "", nil, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if hasData || name != "" {
				return name, []byte(buf.String()), nil
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			name = value
		case "data":
			if hasData {
				buf.WriteByte('\n')
			}
			buf.WriteString(value)
			hasData = true
		}
	}
}
