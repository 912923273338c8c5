// Package zkstore is the ZooKeeper implementation of store.Store, for the
// masters' registry and the frameworks' state in HA mode.
//
// Each key is one znode under the store's root path. Key "agents/a1"
// lives in the znode <root>/agents/~a1: the key's last segment gets a '~'
// (which keys cannot contain), and the segments before it are plain,
// empty znodes, so a key can have both a value and keys below it and
// List is one read of a znode's children. A value znode holds a short
// header and the value; the key's version is the znode's version plus
// one, and compare-and-set is ZooKeeper's own versioned set, create and
// delete.
//
// A store made WithFence makes every write a ZooKeeper multi-op that
// first checks the writer's election znode: once a deposed leader's znode
// is gone, its writes fail with store.ErrFenced and change nothing.
package zkstore
