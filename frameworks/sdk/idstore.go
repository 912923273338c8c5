package sdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/agoracluster/agora/store"
)

// storeIDStore keeps the framework id under one key of a store.Store.
type storeIDStore struct {
	st  store.Store
	key string
}

// NewStoreIDStore returns a FrameworkIDStore that keeps the framework id under key in st
// (for example "framework_id" in the framework's ZooKeeper or file store), so that a
// restarted or failed-over scheduler resumes the same framework.
func NewStoreIDStore(st store.Store, key string) FrameworkIDStore {
	return &storeIDStore{st: st, key: key}
}

func (s *storeIDStore) Load(ctx context.Context) (string, error) {
	b, _, err := s.st.Get(ctx, s.key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load framework id: %w", err)
	}
	return string(b), nil
}

func (s *storeIDStore) Save(ctx context.Context, id string) error {
	if id == "" {
		if err := s.st.Delete(ctx, s.key, store.AnyVersion); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("clear framework id: %w", err)
		}
		return nil
	}
	if _, err := s.st.Put(ctx, s.key, []byte(id), store.AnyVersion); err != nil {
		return fmt.Errorf("save framework id: %w", err)
	}
	return nil
}
