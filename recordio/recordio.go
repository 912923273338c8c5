package recordio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// ErrMalformed is wrapped by every error that reports a malformed stream
// (bad length prefix or over-size record).
var ErrMalformed = errors.New("recordio: malformed stream")

// DefaultMaxRecordSize is the limit a Reader applies when it is given a
// maxRecordSize <= 0.
const DefaultMaxRecordSize = 64 << 20

// preallocLimit bounds how much a Reader allocates up front for a record;
// larger records grow their buffer as their bytes arrive, so a lying length
// prefix on a short stream costs no more than the bytes actually sent.
const preallocLimit = 64 << 10

// maxLengthDigits bounds the length prefix: 20 digits hold any uint64.
const maxLengthDigits = 20

// Writer writes records to an underlying writer. It is not safe for
// concurrent use.
type Writer struct {
	w       io.Writer
	flusher http.Flusher
	header  []byte
}

// NewWriter returns a Writer that frames records onto w. If w implements
// http.Flusher, every record is flushed once written.
func NewWriter(w io.Writer) *Writer {
	f, _ := w.(http.Flusher)
	return &Writer{w: w, flusher: f, header: make([]byte, 0, maxLengthDigits+1)}
}

// WriteRecord writes one record: its decimal length, a newline and the bytes.
func (w *Writer) WriteRecord(record []byte) error { return w.WriteRecords(record) }

// WriteRecords writes records one after the other and flushes once (an HTTP stream then
// sends a burst in one write rather than one per record).
func (w *Writer) WriteRecords(records ...[]byte) error {
	for _, record := range records {
		w.header = strconv.AppendInt(w.header[:0], int64(len(record)), 10)
		w.header = append(w.header, '\n')
		if _, err := w.w.Write(w.header); err != nil {
			return fmt.Errorf("recordio: write length: %w", err)
		}
		if len(record) > 0 {
			if _, err := w.w.Write(record); err != nil {
				return fmt.Errorf("recordio: write record: %w", err)
			}
		}
	}
	if w.flusher != nil {
		w.flusher.Flush()
	}
	return nil
}

// Reader reads records from an underlying reader. It is not safe for
// concurrent use.
type Reader struct {
	r       *bufio.Reader
	maxSize int
	err     error // sticky error once the stream is broken
}

// NewReader returns a Reader that reads records of at most maxRecordSize
// bytes from r. A maxRecordSize <= 0 means DefaultMaxRecordSize.
func NewReader(r io.Reader, maxRecordSize int) *Reader {
	if maxRecordSize <= 0 {
		maxRecordSize = DefaultMaxRecordSize
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &Reader{r: br, maxSize: maxRecordSize}
}

// ReadRecord returns the next record. It returns io.EOF when the stream
// ends cleanly between records, io.ErrUnexpectedEOF when it ends inside
// one, and an error wrapping ErrMalformed for a bad length prefix or a
// record larger than the limit. After an error every call returns it again.
// The returned slice is freshly allocated and owned by the caller.
func (r *Reader) ReadRecord() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	rec, err := r.read()
	if err != nil {
		r.err = err
	}
	return rec, err
}

func (r *Reader) read() ([]byte, error) {
	var n uint64
	digits := 0
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if digits == 0 {
					return nil, io.EOF
				}
				return nil, io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("recordio: read length: %w", err)
		}
		if c == '\n' {
			if digits == 0 {
				return nil, fmt.Errorf("%w: empty record length", ErrMalformed)
			}
			break
		}
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: invalid byte %q in record length", ErrMalformed, c)
		}
		digits++
		if digits > maxLengthDigits {
			return nil, fmt.Errorf("%w: record length has more than %d digits", ErrMalformed, maxLengthDigits)
		}
		d := uint64(c - '0')
		if n > (^uint64(0)-d)/10 {
			return nil, fmt.Errorf("%w: record length overflows", ErrMalformed)
		}
		n = n*10 + d
	}
	if n > uint64(r.maxSize) {
		return nil, fmt.Errorf("%w: record of %d bytes exceeds the limit of %d bytes", ErrMalformed, n, r.maxSize)
	}
	if n <= preallocLimit {
		rec := make([]byte, int(n))
		if _, err := io.ReadFull(r.r, rec); err != nil {
			return nil, bodyError(err)
		}
		return rec, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, preallocLimit))
	got, err := io.CopyN(buf, r.r, int64(n))
	if err != nil || uint64(got) != n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, bodyError(err)
	}
	return buf.Bytes(), nil
}

func bodyError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return fmt.Errorf("recordio: read record: %w", err)
}
