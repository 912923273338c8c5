package sdk_test

import (
	"context"
	"time"

	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// oneTask launches one command task and tears the framework down when it ends.
type oneTask struct{ sdk.NoopHandler }

func (oneTask) Offers(ctx context.Context, s *sdk.Scheduler, offered []*mesos.Offer) {
	pool := offers.NewPool(offered)
	if o, res, ok := pool.Take(resources.MustParse("cpus:0.1;mem:32")); ok {
		_ = s.Launch(ctx, o.ID(), sdk.CommandTask("hello", "hello-1", "echo hello", res))
		_ = s.SetWantOffers(ctx, false)
	}
	_ = s.Decline(ctx, pool.Unused(), time.Minute)
}

func (oneTask) Update(ctx context.Context, s *sdk.Scheduler, st *mesos.TaskStatus) {
	if sdk.IsTerminal(st.GetState()) {
		_ = s.Teardown(ctx) // Run returns nil
	}
}

func ExampleNewScheduler() {
	cfg := sdk.DefaultConfig()
	cfg.Masters = []string{"127.0.0.1:5050"}
	cfg.Framework = &mesos.FrameworkInfo{User: proto.String("nobody"), Name: proto.String("hello")}
	s, err := sdk.NewScheduler(cfg, oneTask{}, zap.NewNop())
	if err != nil {
		panic(err)
	}
	_ = s.Run(context.Background())
}
