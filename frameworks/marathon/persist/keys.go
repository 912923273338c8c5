package persist

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/taskinfo"
	"github.com/agoracluster/agora/store"
)

// Store keys: the prefixes under which each kind of record lives.
const (
	KeyApps         = "apps"
	KeyVersions     = "versions"
	KeyRootVersions = "rootversions"
	KeyDeployments  = "deployments"
	KeyTasks        = "tasks"
	KeyFrameworkID  = "framework_id"
	KeyGroups       = "groups"
)

// escapeID turns an app id into one store key segment ("/g/a" → "g_a"; app ids never
// contain "_").
func escapeID(id string) string { return taskinfo.TaskIDPrefix(id) }

// AppKey is the key of an app's current definition.
func AppKey(id string) string { return KeyApps + "/" + escapeID(id) }

// VersionKey is the key of one stored version of an app.
func VersionKey(id, version string) string { return KeyVersions + "/" + escapeID(id) + "/" + version }

func versionsPrefix(id string) string { return KeyVersions + "/" + escapeID(id) }

// RootVersionKey is the key of one stored version of the root group.
func RootVersionKey(version string) string { return KeyRootVersions + "/" + version }

// DeploymentKey is the key of a running deployment.
func DeploymentKey(id string) string { return KeyDeployments + "/" + id }

// GroupKey is the key of a group's metadata; the root group ("/") is "-".
func GroupKey(id string) string {
	if e := escapeID(id); e != "" {
		return KeyGroups + "/" + e
	}
	return KeyGroups + "/-"
}

// TaskKey is the key of a task's record.
func TaskKey(id string) string { return KeyTasks + "/" + id }

func lastSegment(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

// PutJSON writes v under key.
func PutJSON(ctx context.Context, st store.Store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if _, err := st.Put(ctx, key, b, store.AnyVersion); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// DeleteKey deletes key; a key that is not there is no error.
func DeleteKey(ctx context.Context, st store.Store, key string) error {
	if err := st.Delete(ctx, key, store.AnyVersion); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// LoadAll decodes every JSON record stored under prefix and hands each to add.
func LoadAll[T any](ctx context.Context, st store.Store, prefix string, add func(*T)) error {
	keys, err := st.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		b, _, err := st.Get(ctx, k)
		if err != nil {
			return err
		}
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("decode %s: %w", k, err)
		}
		add(v)
	}
	return nil
}

// storedVersions lists the stored versions of an app, oldest first.
func storedVersions(ctx context.Context, st store.Store, id string) ([]string, error) {
	keys, err := st.List(ctx, versionsPrefix(id))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, lastSegment(k))
	}
	slices.Sort(out)
	return out, nil
}

func loadVersion(ctx context.Context, st store.Store, id, version string) (*app.App, error) {
	b, _, err := st.Get(ctx, VersionKey(id, version))
	if err != nil {
		return nil, err
	}
	var a app.App
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("decode version %s of %s: %w", version, id, err)
	}
	return &a, nil
}
