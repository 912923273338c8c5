package recordio_test

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agoracluster/agora/recordio"
)

func TestWriterFraming(t *testing.T) {
	tests := []struct {
		name    string
		records []string
		want    string
	}{
		{name: "none", records: nil, want: ""},
		{name: "empty record", records: []string{""}, want: "0\n"},
		{name: "one", records: []string{`{"type":"HEARTBEAT"}`}, want: "20\n{\"type\":\"HEARTBEAT\"}"},
		{name: "several", records: []string{"a", "bc", "\n\n"}, want: "1\na2\nbc2\n\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := recordio.NewWriter(&buf)
			for _, r := range tt.records {
				if err := w.WriteRecord([]byte(r)); err != nil {
					t.Fatalf("WriteRecord: %v", err)
				}
			}
			if got := buf.String(); got != tt.want {
				t.Fatalf("stream = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriterFlushes(t *testing.T) {
	rec := httptest.NewRecorder()
	w := recordio.NewWriter(rec)
	if err := w.WriteRecord([]byte("hello")); err != nil {
		t.Fatalf("WriteRecord: %v", err)
	}
	if !rec.Flushed {
		t.Fatal("record was not flushed to the http.Flusher")
	}
	if got := rec.Body.String(); got != "5\nhello" {
		t.Fatalf("body = %q", got)
	}
}

// countingFlusher counts the flushes and what was written before each.
type countingFlusher struct {
	bytes.Buffer
	flushes []string
}

func (c *countingFlusher) Flush() { c.flushes = append(c.flushes, c.String()) }

// TestWriteRecordsFlushesOnce: a burst of records goes out with one flush, after the last.
func TestWriteRecordsFlushesOnce(t *testing.T) {
	c := &countingFlusher{}
	w := recordio.NewWriter(c)
	if err := w.WriteRecords([]byte("a"), []byte("bc"), nil); err != nil {
		t.Fatal(err)
	}
	if len(c.flushes) != 1 || c.flushes[0] != "1\na2\nbc0\n" {
		t.Fatalf("flushes = %q, want one after the three records", c.flushes)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("boom") }

func TestWriterError(t *testing.T) {
	err := recordio.NewWriter(failingWriter{}).WriteRecord([]byte("x"))
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want wrapped write error", err)
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		max     int
		want    []string
		wantErr error  // matched with errors.Is
		errText string // substring of the error, if set
	}{
		{name: "empty stream", stream: "", want: nil, wantErr: io.EOF},
		{name: "one record", stream: "5\nhello", want: []string{"hello"}, wantErr: io.EOF},
		{name: "zero-length record", stream: "0\n3\nabc", want: []string{"", "abc"}, wantErr: io.EOF},
		{name: "record containing newlines", stream: "3\n\n\n\n", want: []string{"\n\n\n"}, wantErr: io.EOF},
		{name: "record at the limit", stream: "4\nabcd", max: 4, want: []string{"abcd"}, wantErr: io.EOF},
		{name: "non-digit length", stream: "x\nabc", wantErr: recordio.ErrMalformed, errText: `invalid byte 'x'`},
		{name: "leading junk", stream: " 3\nabc", wantErr: recordio.ErrMalformed, errText: "invalid byte"},
		{name: "negative length", stream: "-3\nabc", wantErr: recordio.ErrMalformed, errText: "invalid byte '-'"},
		{name: "trailing junk in length", stream: "3a\nabc", wantErr: recordio.ErrMalformed},
		{name: "carriage return", stream: "3\r\nabc", wantErr: recordio.ErrMalformed},
		{name: "empty length", stream: "\nabc", wantErr: recordio.ErrMalformed, errText: "empty record length"},
		{name: "junk after good record", stream: "1\naZ", want: []string{"a"}, wantErr: recordio.ErrMalformed},
		{name: "over the limit", stream: "5\nhello", max: 4, wantErr: recordio.ErrMalformed, errText: "record of 5 bytes exceeds the limit of 4 bytes"},
		{name: "huge length", stream: "99999999999999999999\n", wantErr: recordio.ErrMalformed, errText: "overflows"},
		{name: "too many digits", stream: "000000000000000000001\na", wantErr: recordio.ErrMalformed, errText: "digits"},
		{name: "truncated record", stream: "10\nhello", wantErr: io.ErrUnexpectedEOF},
		{name: "truncated length", stream: "12", wantErr: io.ErrUnexpectedEOF},
		{name: "truncated after newline", stream: "1\n", wantErr: io.ErrUnexpectedEOF},
		{name: "truncated large record", stream: "100000\nabc", max: 1 << 20, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := recordio.NewReader(strings.NewReader(tt.stream), tt.max)
			var got []string
			var err error
			for {
				var rec []byte
				rec, err = r.ReadRecord()
				if err != nil {
					break
				}
				got = append(got, string(rec))
			}
			if !equalStrings(got, tt.want) {
				t.Errorf("records = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.errText != "" && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("err = %q, want it to contain %q", err, tt.errText)
			}
			if _, again := r.ReadRecord(); !errors.Is(again, tt.wantErr) {
				t.Errorf("second call err = %v, want sticky %v", again, tt.wantErr)
			}
		})
	}
}

func TestReaderLargeRecord(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 50_000) // 500 kB, above the preallocation limit
	var buf bytes.Buffer
	w := recordio.NewWriter(&buf)
	for range 2 {
		if err := w.WriteRecord(big); err != nil {
			t.Fatal(err)
		}
	}
	r := recordio.NewReader(&buf, len(big))
	for i := range 2 {
		got, err := r.ReadRecord()
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(got, big) {
			t.Fatalf("record %d differs", i)
		}
	}
	if _, err := r.ReadRecord(); !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want io.EOF", err)
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := recordio.NewReader(io.MultiReader(strings.NewReader("5\nhe"), errReader{boom}), 0)
	if _, err := r.ReadRecord(); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapped %v", err, boom)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzReader checks that arbitrary input never panics the Reader, and that
// any records written by the Writer read back unchanged.
func FuzzReader(f *testing.F) {
	f.Add([]byte("5\nhello0\n"), 16)
	f.Add([]byte("x\n"), 16)
	f.Add([]byte("99999999999999999999999\n"), 16)
	f.Add([]byte("3\nab"), 1)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max > 1<<20 || max < -1 {
			max = 1 << 20
		}
		// Arbitrary input: must terminate without panicking, records within the limit.
		r := recordio.NewReader(bytes.NewReader(data), max)
		limit := max
		if limit <= 0 {
			limit = recordio.DefaultMaxRecordSize
		}
		for i := 0; ; i++ {
			rec, err := r.ReadRecord()
			if err != nil {
				break
			}
			if len(rec) > limit {
				t.Fatalf("record of %d bytes over limit %d", len(rec), limit)
			}
			if i > len(data) {
				t.Fatal("more records than input bytes")
			}
		}

		// Round trip: split data into records at each 0xff byte.
		records := bytes.Split(data, []byte{0xff})
		var buf bytes.Buffer
		w := recordio.NewWriter(&buf)
		for _, rec := range records {
			if err := w.WriteRecord(rec); err != nil {
				t.Fatal(err)
			}
		}
		rr := recordio.NewReader(&buf, len(data))
		for i, want := range records {
			got, err := rr.ReadRecord()
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("record %d = %q, want %q", i, got, want)
			}
		}
		if _, err := rr.ReadRecord(); !errors.Is(err, io.EOF) {
			t.Fatalf("after last record err = %v, want io.EOF", err)
		}
	})
}
