package master

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/master/ledger"
	"github.com/agoracluster/agora/master/registry"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/store"
)

// fencedStore is a store whose writes are all fenced, as a deposed leader's.
type fencedStore struct{ store.Store }

func (fencedStore) Put(context.Context, string, []byte, store.Version) (store.Version, error) {
	return 0, store.ErrFenced
}

type nopSink struct{}

func (nopSink) Send(proto.Message) {}
func (nopSink) Close()             {}

// TestLoopStopsOnFencedWrite: a fenced registry write (another master leads)
// fails the call that caused it, calls deposed, and nothing more is written.
func TestLoopStopsOnFencedWrite(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(fencedStore{st}, time.Second)
	clock := realClock{}
	lp := newLoop(time.Hour, time.Millisecond, clock, reg, zaptest.NewLogger(t))
	deposed := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lp.deposed = func() {
		close(deposed)
		cancel()
	}
	l := ledger.New(DefaultConfig().ledger(), clock, &mesos.MasterInfo{Id: proto.String("m")}, rand.New(rand.NewPCG(1, 2)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		lp.run(ctx, l)
	}()
	subscribe := func(l *ledger.Ledger) {
		_, _ = l.SubscribeAgent(nopSink{}, "s1", &agorapb.AgentCall_Subscribe{AgentInfo: &mesos.AgentInfo{
			Hostname: proto.String("a"), Resources: resources.MustParse("cpus:1;mem:64").ToProto(),
		}})
	}
	err = lp.Do(context.Background(), subscribe)
	if !errors.Is(err, httpapi.ErrStopped) {
		t.Errorf("Do after a fenced write: %v, want ErrStopped", err)
	}
	select {
	case <-deposed:
	default:
		t.Error("deposed not called")
	}
	<-done
	if err := lp.Do(context.Background(), subscribe); !errors.Is(err, httpapi.ErrStopped) {
		t.Errorf("Do on the stopped loop: %v, want ErrStopped", err)
	}
}
