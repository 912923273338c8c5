// Package store is the small durable key/value interface behind the
// master's registry and the frameworks' state, with a local file
// implementation (FileStore) for standalone use; the ZooKeeper
// implementation shares the same contract, pinned by the conformance
// suite in package storetest.
//
// Keys are slash-separated paths ("agents/<id>", "frameworks/<id>") whose
// segments use [A-Za-z0-9._:-]. Every key carries a Version that starts at
// 1 when the key is created and grows by one with every Put, so callers can
// do compare-and-set: Put with expected 0 creates only, with AnyVersion
// overwrites, and with any other version succeeds only if the key is at
// exactly that version.
package store
