// RecordIO, the framing of the Mesos v1 streams: "<decimal length>\n<length bytes>".
// RecordIOParser takes the stream's chunks as they arrive (a record may span many chunks,
// a chunk may hold many records) and returns the records it completes, decoded as UTF-8.
// A record's body is copied once into a buffer of its announced size, so that a large first
// record (the whole cluster's state) costs O(size), not O(size × chunks).

const NEWLINE = 10;
const MAX_HEADER = 20; // digits of a length, with room to spare

export class RecordIOError extends Error {}

export class RecordIOParser {
  constructor() {
    this.header = '';
    this.body = null; // Uint8Array of the record being read, once its length is known
    this.filled = 0;
    this.decoder = new TextDecoder();
  }

  // push consumes one chunk (a Uint8Array) and returns the records it completes.
  push(chunk) {
    const out = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.body === null) {
        const nl = chunk.indexOf(NEWLINE, i);
        const end = nl < 0 ? chunk.length : nl;
        for (let j = i; j < end; j++) this.header += String.fromCharCode(chunk[j]);
        if (this.header.length > MAX_HEADER) {
          throw new RecordIOError(`RecordIO: record length header too long: ${JSON.stringify(this.header.slice(0, MAX_HEADER))}…`);
        }
        if (nl < 0) break;
        i = nl + 1;
        if (!/^\d+$/.test(this.header)) {
          throw new RecordIOError(`RecordIO: bad record length ${JSON.stringify(this.header)}`);
        }
        const n = Number(this.header);
        this.header = '';
        if (n === 0) {
          out.push('');
          continue;
        }
        if (chunk.length - i >= n) { // the whole record is in this chunk: no copy
          out.push(this.decoder.decode(chunk.subarray(i, i + n)));
          i += n;
          continue;
        }
        this.body = new Uint8Array(n);
        this.filled = 0;
      }
      const take = Math.min(this.body.length - this.filled, chunk.length - i);
      this.body.set(chunk.subarray(i, i + take), this.filled);
      this.filled += take;
      i += take;
      if (this.filled === this.body.length) {
        out.push(this.decoder.decode(this.body));
        this.body = null;
      }
    }
    return out;
  }

  // pending reports whether a record was cut off (the stream ended inside it).
  pending() {
    return this.body !== null || this.header !== '';
  }
}
