package agent

import (
	"context"

	"github.com/agoracluster/agora/agent/fetcher"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// fetchURIs is the process containerizer's fetcher.
func fetchURIs(ctx context.Context, uris []*mesos.CommandInfo_URI, sandbox string) error {
	return fetcher.Fetch(ctx, uris, sandbox)
}
