package api

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/loop"
)

// Leadership is the instance's place in the leader election of several Marathons (--zk);
// nil in Config means a single instance, always the leader.
type Leadership interface {
	// Leader returns the leading instance's "host:port", or an error while none leads.
	Leader() (string, error)
	// Leading reports whether this instance leads.
	Leading() bool
	// Abdicate gives up the lead (DELETE /v2/leader).
	Abdicate()
	// ZooKeeperURL is the --zk URL, password redacted; SessionTimeout its session timeout
	// and ConnectTimeout the wait for ZooKeeper at start (--zk_timeout).
	ZooKeeperURL() string
	SessionTimeout() time.Duration
	ConnectTimeout() time.Duration
}

// Follower returns the handler of an instance that does not lead: /ping, GET /v2/leader
// and /v2/info (with the stored framework id, from frameworkID) are answered here,
// everything else goes to proxy (to the leader).
func Follower(cfg Config, frameworkID func(context.Context) string, proxy http.Handler, log *zap.Logger) http.Handler {
	a := New(cfg, follower{frameworkID}, nil, log)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.URL.Path == "/ping":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("pong"))
		case req.URL.Path == "/v2/leader" && req.Method == http.MethodGet,
			req.URL.Path == "/v2/info" && req.Method == http.MethodGet:
			a.Handler().ServeHTTP(w, req)
		default:
			proxy.ServeHTTP(w, req)
		}
	})
}

// follower is the Framework of an instance that does not lead: it reads the framework id
// from the store and runs nothing.
type follower struct{ frameworkID func(context.Context) string }

func (follower) Do(context.Context, func(*loop.Tx)) error { return loop.ErrStopped }

func (f follower) FrameworkID() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f.frameworkID(ctx)
}

// leaderState is what /v2/leader and /v2/info report: whether this instance leads and who
// does ("" while none).
func (a *API) leaderState() (elected bool, leader string) {
	l := a.cfg.Leadership
	if l == nil {
		return true, a.leaderAddr()
	}
	leader, err := l.Leader()
	if err != nil {
		leader = ""
	}
	return l.Leading(), leader
}

// leaderReply answers /v2/leader: GET names the leader (404 while none), DELETE abdicates.
func (a *API) leaderReply(method string) reply {
	if method == http.MethodDelete {
		if l := a.cfg.Leadership; l != nil {
			a.log.Info("leadership abdicated", zap.String("leader", a.leaderAddr()))
			l.Abdicate()
		} else {
			// A single instance abdicates and is re-elected at once.
			a.log.Info("leadership abdicated; re-elected (single instance)", zap.String("leader", a.leaderAddr()))
		}
		return reply{status: http.StatusOK, body: map[string]string{"message": "Leadership abdicated"}}
	}
	if _, leader := a.leaderState(); leader != "" {
		return reply{status: http.StatusOK, body: map[string]string{"leader": leader}}
	}
	return msgReply(http.StatusNotFound, "There is no leader")
}

// zooKeeperConfig is /v2/info's zookeeper_config (Marathon's field names, milliseconds).
func (a *API) zooKeeperConfig() map[string]any {
	l := a.cfg.Leadership
	if l == nil {
		return map[string]any{"zk": nil, "zk_max_versions": a.cfg.MaxVersions}
	}
	return map[string]any{
		"zk": l.ZooKeeperURL(), "zk_session_timeout": l.SessionTimeout().Milliseconds(),
		"zk_timeout": l.ConnectTimeout().Milliseconds(), "zk_connection_timeout": l.ConnectTimeout().Milliseconds(),
		"zk_compression": false, "zk_max_node_size": 1 << 20, "zk_max_versions": a.cfg.MaxVersions,
	}
}
