package zkstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/agoracluster/agora/store"
	"github.com/agoracluster/agora/zookeeper"
)

const (
	// header starts every value znode, to tell entries from foreign data.
	header = "agora-zkstore-v1\n"
	// valueMark starts the name of a value znode.
	valueMark = "~"
	// MaxPacket is ZooKeeper's default limit on one request
	// (jute.maxbuffer, 1 MiB - 1), which bounds a znode's data.
	MaxPacket = 0xfffff
	// packetSlack covers a write request's framing beyond the data and
	// paths: headers, lengths, flags, ACLs and the multi-op's headers.
	packetSlack = 512
)

// AnyZnodeVersion, as a fence's version, only checks that the znode exists.
const AnyZnodeVersion int32 = -1

// Store is a store.Store in ZooKeeper. Safe for concurrent use.
type Store struct {
	sess *zookeeper.Session
	root string
	// fence, when set, is the znode every write checks first, at
	// fenceVersion.
	fence        string
	fenceVersion int32
}

var _ store.Store = (*Store)(nil)

// New returns a store under root (an absolute znode path such as
// "/agora/registry"), creating root when missing.
func New(ctx context.Context, sess *zookeeper.Session, root string) (*Store, error) {
	if err := sess.EnsurePath(ctx, root); err != nil {
		return nil, fmt.Errorf("zkstore: open %s: %w", root, err)
	}
	return &Store{sess: sess, root: root}, nil
}

// WithFence returns a store that shares s's session and root and makes
// every write conditional on the znode fence being at version (a
// contender's election znode is at version 0; AnyZnodeVersion checks only
// that it exists). When the check fails the write fails with
// store.ErrFenced.
func (s *Store) WithFence(fence string, version int32) *Store {
	f := *s
	f.fence, f.fenceVersion = fence, version
	return &f
}

// Sync makes the reads that follow see every write the ensemble committed
// before the call (ZooKeeper's sync): a new leader calls it before it
// recovers its state, since its server may lag behind the quorum.
func (s *Store) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := s.sess.Conn().Sync(s.root); err != nil {
		return fmt.Errorf("zkstore: sync %s: %w", s.root, err)
	}
	return nil
}

// Root returns the store's root znode.
func (s *Store) Root() string { return s.root }

// dir returns the znode of a key prefix (the root for "").
func (s *Store) dir(prefix string) string {
	if prefix == "" {
		return s.root
	}
	return s.root + "/" + prefix
}

// valuePath returns the znode that holds key's value.
func (s *Store) valuePath(key string) string {
	i := strings.LastIndexByte(key, '/')
	return s.dir(key[:max(i, 0)]) + "/" + valueMark + key[i+1:]
}

// MaxValueSize returns the largest value that key can hold.
func (s *Store) MaxValueSize(key string) int {
	p := s.valuePath(key)
	return MaxPacket - packetSlack - len(header) - len(p) - len(s.fence)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, store.Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := store.ValidateKey(key); err != nil {
		return nil, 0, err
	}
	p := s.valuePath(key)
	data, stat, err := s.sess.Conn().Get(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, 0, fmt.Errorf("%w: %q", store.ErrNotFound, key)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("zkstore: get %q: %w", key, err)
	}
	value, ok := bytes.CutPrefix(data, []byte(header))
	if !ok {
		return nil, 0, fmt.Errorf("%w %q: znode %s does not start with %q (%d bytes): not written by this store",
			store.ErrCorrupt, key, p, strings.TrimSpace(header), len(data))
	}
	return value, store.Version(stat.Version) + 1, nil
}

// Put implements store.Store. When the connection drops during a write its
// outcome is unknown: the error says so, and a caller re-reads.
func (s *Store) Put(ctx context.Context, key string, value []byte, expected store.Version) (store.Version, error) {
	if err := s.check(ctx, key, expected); err != nil {
		return 0, err
	}
	if limit := s.MaxValueSize(key); len(value) > limit {
		return 0, fmt.Errorf("%w: %q: %d bytes, ZooKeeper's 1 MiB znode limit leaves %d for this key",
			store.ErrTooLarge, key, len(value), limit)
	}
	p := s.valuePath(key)
	data := append([]byte(header), value...)
	switch expected {
	case 0:
		err := s.create(ctx, key, p, data)
		if errors.Is(err, zk.ErrNodeExists) {
			return 0, s.conflict(key, p, expected)
		}
		if err != nil {
			return 0, s.writeErr("put", key, err)
		}
		return 1, nil
	case store.AnyVersion:
		for range maxTries {
			stat, err := s.write(&zk.SetDataRequest{Path: p, Data: data, Version: -1})
			if err == nil {
				return store.Version(stat.Version) + 1, nil
			}
			if !errors.Is(err, zk.ErrNoNode) {
				return 0, s.writeErr("put", key, err)
			}
			err = s.create(ctx, key, p, data)
			if err == nil {
				return 1, nil
			}
			if !errors.Is(err, zk.ErrNodeExists) { // else created meanwhile: set it
				return 0, s.writeErr("put", key, err)
			}
		}
		return 0, fmt.Errorf("zkstore: put %q: gave up after %d tries against concurrent creates and deletes", key, maxTries)
	default:
		stat, err := s.write(&zk.SetDataRequest{Path: p, Data: data, Version: int32(expected - 1)})
		if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrBadVersion) {
			return 0, s.conflict(key, p, expected)
		}
		if err != nil {
			return 0, s.writeErr("put", key, err)
		}
		return store.Version(stat.Version) + 1, nil
	}
}

// maxTries bounds the retries of a write racing with concurrent writers.
const maxTries = 10

// create creates the value znode p of key, and the key's parent znodes
// when they are missing.
func (s *Store) create(ctx context.Context, key, p string, data []byte) error {
	for range maxTries {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := s.write(&zk.CreateRequest{Path: p, Data: data, Acl: s.sess.ACL()})
		if !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		if err := s.ensureDirs(ctx, key); err != nil {
			return err
		}
	}
	return fmt.Errorf("parents of %s removed %d times by concurrent deletes", p, maxTries)
}

// ensureDirs creates the root and the parent znodes of key.
func (s *Store) ensureDirs(ctx context.Context, key string) error {
	dirs := []string{s.root}
	for i := range len(key) {
		if key[i] == '/' {
			dirs = append(dirs, s.dir(key[:i]))
		}
	}
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := s.write(&zk.CreateRequest{Path: d, Acl: s.sess.ACL()})
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	return nil
}

// Delete implements store.Store. It also removes the parent znodes that it
// leaves without children.
func (s *Store) Delete(ctx context.Context, key string, expected store.Version) error {
	if err := s.check(ctx, key, expected); err != nil {
		return err
	}
	p := s.valuePath(key)
	version := int32(-1)
	if expected != store.AnyVersion {
		version = int32(expected - 1)
	}
	_, err := s.write(&zk.DeleteRequest{Path: p, Version: version})
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("%w: %q", store.ErrNotFound, key)
	case errors.Is(err, zk.ErrBadVersion):
		return s.conflict(key, p, expected)
	case err != nil:
		return s.writeErr("delete", key, err)
	}
	for k := key; ; {
		i := strings.LastIndexByte(k, '/')
		if i < 0 {
			return nil
		}
		k = k[:i]
		// Fails with ErrNotEmpty where other keys remain, which ends it.
		if _, err := s.write(&zk.DeleteRequest{Path: s.dir(k), Version: -1}); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return nil
		}
	}
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := store.ValidatePrefix(prefix)
	if err != nil {
		return nil, err
	}
	children, _, err := s.sess.Conn().Children(s.dir(p))
	if errors.Is(err, zk.ErrNoNode) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("zkstore: list %q: %w", prefix, err)
	}
	keys := make([]string, 0, len(children))
	for _, name := range children {
		seg, ok := strings.CutPrefix(name, valueMark)
		if !ok {
			continue // a parent of deeper keys, or a foreign znode
		}
		key := seg
		if p != "" {
			key = p + "/" + seg
		}
		if err := store.ValidateKey(key); err != nil {
			return nil, fmt.Errorf("%w: znode %s/%s is not a store entry: %v", store.ErrCorrupt, s.dir(p), name, err)
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys, nil
}

// check validates the arguments of a write.
func (s *Store) check(ctx context.Context, key string, expected store.Version) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := store.ValidateKey(key); err != nil {
		return err
	}
	if expected < store.AnyVersion {
		return fmt.Errorf("zkstore: invalid expected version %d for %q", expected, key)
	}
	return nil
}

// write carries out one write (create, set or delete), in a multi-op
// after the fence check when the store is fenced.
func (s *Store) write(op any) (*zk.Stat, error) {
	conn := s.sess.Conn()
	if s.fence == "" {
		switch op := op.(type) {
		case *zk.CreateRequest:
			_, err := conn.Create(op.Path, op.Data, op.Flags, op.Acl)
			return nil, err
		case *zk.SetDataRequest:
			return conn.Set(op.Path, op.Data, op.Version)
		case *zk.DeleteRequest:
			return nil, conn.Delete(op.Path, op.Version)
		}
		panic(fmt.Sprintf("zkstore: write of %T", op))
	}
	res, err := conn.Multi(&zk.CheckVersionRequest{Path: s.fence, Version: s.fenceVersion}, op)
	if err == nil {
		if len(res) == 2 {
			return res[1].Stat, nil
		}
		return nil, fmt.Errorf("multi-op answered %d results, want 2", len(res))
	}
	if len(res) > 0 && res[0].Error != nil {
		return nil, s.fenced(res[0].Error)
	}
	if len(res) == 0 && (errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrBadVersion)) {
		// No results to tell which op failed: look at the fence.
		ok, stat, xerr := conn.Exists(s.fence)
		if xerr == nil && (!ok || s.fenceVersion != AnyZnodeVersion && stat.Version != s.fenceVersion) {
			return nil, s.fenced(err)
		}
	}
	return nil, err
}

func (s *Store) fenced(err error) error {
	return fmt.Errorf("%w (fence %s: %v)", store.ErrFenced, s.fence, err)
}

// conflict returns ErrConflict with the key's current version.
func (s *Store) conflict(key, p string, expected store.Version) error {
	cur := "absent"
	if ok, stat, err := s.sess.Conn().Exists(p); err == nil && ok {
		cur = fmt.Sprintf("at version %d", stat.Version+1)
	}
	return fmt.Errorf("%w: %q is %s, expected %d", store.ErrConflict, key, cur, expected)
}

// writeErr wraps a failed write's error with what is known of its outcome.
func (s *Store) writeErr(op, key string, err error) error {
	if errors.Is(err, store.ErrFenced) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("zkstore: %s %q: %w", op, key, err)
	}
	if errors.Is(err, zk.ErrConnectionClosed) {
		return fmt.Errorf("zkstore: %s %q: connection to ZooKeeper lost, the write may or may not have happened: %w", op, key, err)
	}
	return fmt.Errorf("zkstore: %s %q: %w", op, key, err)
}
