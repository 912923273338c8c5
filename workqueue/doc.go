// Package workqueue holds Queue, an unbounded FIFO queue safe for concurrent use whose
// consumers wait for a signal instead of polling: producers Push without ever blocking,
// consumers either Pop one item at a time (several workers may share a queue) or wait on
// Ready and Drain everything queued as one batch. It replaces the hand-written
// "slice + mutex + one-token channel" queues that shells use to hand work to a goroutine
// of their own (acknowledgements, calls to the master, outgoing agent calls).
package workqueue
