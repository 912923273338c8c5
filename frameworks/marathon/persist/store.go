package persist

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/store"
)

// Stored versions, as Marathon keeps them: every change stores the new definition of each
// app it changes (versions/<app>/<version>) and a version of the root group
// (rootversions/<version>), each bounded by --max_versions (oldest pruned first, never the
// current one). A root version is a manifest, not a copy of every app: the group metadata
// and the version of each app then, whose definitions are the stored app versions; an app
// version that a stored root version names is kept until no root version names it, so
// that a group rolls back even to apps deleted since.

// RootVersion is one stored version of the root group.
type RootVersion struct {
	Version string                 `json:"version"`
	Groups  map[string]groups.Meta `json:"groups"`
	Apps    map[string]string      `json:"apps"` // app id -> app version
}

// Store writes the loop's records (apps, deployments, groups, versions) in the loop and
// keeps the index of stored root versions. A write that fails is logged and the loop
// carries on in memory. Loop only: it is not safe for concurrent use.
type Store struct {
	st          store.Store
	log         *zap.Logger
	maxVersions int
	versions    *versionIndex // read on first use
}

// NewStore returns a Store over st that keeps maxVersions versions of each app and of the
// root group.
func NewStore(st store.Store, maxVersions int, log *zap.Logger) *Store {
	return &Store{st: st, log: log, maxVersions: maxVersions}
}

// Put writes v under key.
func (s *Store) Put(ctx context.Context, key string, v any) {
	if err := PutJSON(ctx, s.st, key, v); err != nil {
		s.log.Error("persist", zap.String("key", key), zap.Error(err))
	}
}

// Delete deletes key.
func (s *Store) Delete(ctx context.Context, key string) {
	if err := DeleteKey(ctx, s.st, key); err != nil {
		s.log.Error("persist", zap.String("key", key), zap.Error(err))
	}
}

// AppVersions lists the stored versions of an app, oldest first.
func (s *Store) AppVersions(ctx context.Context, id string) ([]string, error) {
	return storedVersions(ctx, s.st, id)
}

// AppVersion reads one stored version of an app.
func (s *Store) AppVersion(ctx context.Context, id, version string) (*app.App, error) {
	return loadVersion(ctx, s.st, id, version)
}

// RootVersion reads one stored version of the root group.
func (s *Store) RootVersion(ctx context.Context, version string) (*RootVersion, error) {
	return loadRootVersion(ctx, s.st, version)
}

// versionIndex is the loop's view of the stored root versions.
type versionIndex struct {
	roots     []string                     // stored root versions, oldest first
	manifests map[string]map[string]string // root version -> app id -> app version
	refs      map[string]map[string]int    // app id -> app version -> root versions naming it
}

func newVersionIndex() *versionIndex {
	return &versionIndex{manifests: map[string]map[string]string{}, refs: map[string]map[string]int{}}
}

func (x *versionIndex) ref(apps map[string]string, d int) {
	for id, v := range apps {
		if x.refs[id] == nil {
			x.refs[id] = map[string]int{}
		}
		x.refs[id][v] += d
		if x.refs[id][v] <= 0 {
			delete(x.refs[id], v)
		}
		if len(x.refs[id]) == 0 {
			delete(x.refs, id)
		}
	}
}

// loadVersionIndex reads the stored root versions.
func loadVersionIndex(ctx context.Context, st store.Store) (*versionIndex, error) {
	x := newVersionIndex()
	keys, err := st.List(ctx, KeyRootVersions)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		rv, err := loadRootVersion(ctx, st, lastSegment(k))
		if err != nil {
			return nil, err
		}
		x.roots = append(x.roots, rv.Version)
		x.manifests[rv.Version] = rv.Apps
		x.ref(rv.Apps, 1)
	}
	slices.Sort(x.roots)
	return x, nil
}

func loadRootVersion(ctx context.Context, st store.Store, version string) (*RootVersion, error) {
	b, _, err := st.Get(ctx, RootVersionKey(version))
	if err != nil {
		return nil, err
	}
	var rv RootVersion
	if err := json.Unmarshal(b, &rv); err != nil {
		return nil, fmt.Errorf("decode root version %s: %w", version, err)
	}
	return &rv, nil
}

// index returns the version index, reading it on first use.
func (s *Store) index(ctx context.Context) *versionIndex {
	if s.versions == nil {
		x, err := loadVersionIndex(ctx, s.st)
		if err != nil {
			s.log.Error("load root versions", zap.Error(err))
			x = newVersionIndex()
		}
		s.versions = x
	}
	return s.versions
}

// StoreAppVersion stores a as a version of its app and prunes the oldest beyond the
// maximum (never a's own, nor one a stored root version names).
func (s *Store) StoreAppVersion(ctx context.Context, a *app.App) {
	s.Put(ctx, VersionKey(a.ID, a.Version), a)
	vs, err := storedVersions(ctx, s.st, a.ID)
	if err != nil {
		s.log.Error("list versions", zap.String("app_id", a.ID), zap.Error(err))
		return
	}
	refs := s.index(ctx).refs[a.ID]
	excess := len(vs) - s.maxVersions
	for _, v := range vs {
		if excess <= 0 {
			break
		}
		if v == a.Version || refs[v] > 0 {
			continue
		}
		s.Delete(ctx, VersionKey(a.ID, v))
		excess--
	}
}

// ForgetAppVersions removes the stored versions of a deleted app that no stored root
// version names.
func (s *Store) ForgetAppVersions(ctx context.Context, id string) {
	vs, err := storedVersions(ctx, s.st, id)
	if err != nil {
		return
	}
	refs := s.index(ctx).refs[id]
	for _, v := range vs {
		if refs[v] == 0 {
			s.Delete(ctx, VersionKey(id, v))
		}
	}
}

// StoreRootVersion stores the root group as it is now (its group metadata and apps) as
// version and prunes the oldest root versions beyond the maximum, with the versions of
// deleted apps only they named.
func (s *Store) StoreRootVersion(ctx context.Context, version string, metas map[string]groups.Meta, apps map[string]*app.App) {
	x := s.index(ctx)
	rv := RootVersion{Version: version, Groups: metas, Apps: make(map[string]string, len(apps))}
	for id, a := range apps {
		rv.Apps[id] = a.Version
	}
	s.Put(ctx, RootVersionKey(version), rv)
	if old, ok := x.manifests[version]; ok {
		x.ref(old, -1) // the same millisecond again: replaced
	} else {
		x.roots = append(x.roots, version)
		slices.Sort(x.roots)
	}
	x.manifests[version] = rv.Apps
	x.ref(rv.Apps, 1)
	for len(x.roots) > s.maxVersions {
		oldest := x.roots[0]
		x.roots = x.roots[1:]
		manifest := x.manifests[oldest]
		delete(x.manifests, oldest)
		x.ref(manifest, -1)
		s.Delete(ctx, RootVersionKey(oldest))
		for id, v := range manifest {
			if apps[id] == nil && x.refs[id][v] == 0 {
				s.Delete(ctx, VersionKey(id, v))
			}
		}
	}
}

// GroupVersions lists the stored root versions in which group id existed, newest first
// (GET /v2/groups/{id}/versions).
func (s *Store) GroupVersions(ctx context.Context, id string) []string {
	x := s.index(ctx)
	out := []string{}
	for _, v := range slices.Backward(x.roots) {
		if id == groups.RootID || s.groupExistedIn(ctx, id, v) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Store) groupExistedIn(ctx context.Context, id, version string) bool {
	for appID := range s.versions.manifests[version] {
		if strings.HasPrefix(appID, id+"/") {
			return true
		}
	}
	rv, err := loadRootVersion(ctx, s.st, version)
	if err != nil {
		return false
	}
	_, ok := rv.Groups[id]
	return ok
}
