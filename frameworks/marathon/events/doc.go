// Package events is Marathon's event bus and its /v2/events Server-Sent
// Events endpoint. The event types carry Marathon 1.x's names and JSON
// shapes (eventType, timestamp as ISO-8601 UTC with milliseconds, and the
// fields each event has); constructors take the data plus now. A Bus fans
// events out to subscribers without ever blocking the publisher (the
// framework loop): each subscriber has a bounded buffer and one that falls
// behind is dropped and its stream closed. The bus itself starts no
// goroutines; Handler serves one SSE client per request goroutine with
// event-type filters, keep-alive comments and event_stream_attached /
// event_stream_detached, as Marathon does.
package events
