// Package recordio reads and writes RecordIO streams, the framing every
// Mesos v1 HTTP streaming API uses: each record is its length in bytes as
// ASCII decimal, a newline, then exactly that many bytes.
//
//	17\n{"type":"HEARTBEAT"}
//
// A Writer flushes after every record when the underlying writer is an
// http.Flusher, so a record reaches the peer as soon as it is written. A
// Reader bounds every record by a maximum size so that a malformed or
// hostile stream cannot make it allocate without limit.
package recordio
