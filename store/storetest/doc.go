// Package storetest is the conformance suite for store.Store
// implementations: every implementation (file, ZooKeeper) must pass Run,
// which checks create-only and compare-and-set Puts, versions, deletes,
// one-level sorted List, key validation, value integrity and concurrent
// compare-and-set loops.
package storetest
