package sdk

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"go.uber.org/zap"
)

var (
	// ErrNotSubscribed is returned by calls made while the scheduler has no subscription.
	ErrNotSubscribed = errors.New("sdk: not subscribed")
	// ErrUnknownOffer is returned by Launch when a task has no agent id and the offer is not
	// one the scheduler holds.
	ErrUnknownOffer = errors.New("sdk: unknown offer")
	// ErrAlreadyRunning is returned by a second concurrent Run.
	ErrAlreadyRunning = errors.New("sdk: scheduler already running")

	// ErrHeartbeatTimeout is the reason given to Handler.Disconnected when the stream went
	// silent for Config.MissedHeartbeats heartbeat intervals.
	ErrHeartbeatTimeout = errors.New("sdk: no event within the heartbeat timeout")
	// ErrStreamClosed is the reason given to Handler.Disconnected when the master ended the
	// event stream.
	ErrStreamClosed = errors.New("sdk: master closed the event stream")
	// ErrLeaderChanged is the reason given to Handler.Disconnected when ZooKeeper names
	// another leading master (zk:// masters); the scheduler re-subscribes to it at once.
	ErrLeaderChanged = errors.New("sdk: the leading master changed")

	errSubscribeTimeout = errors.New("sdk: subscription timed out")
	errTornDown         = errors.New("sdk: framework torn down")
)

// CallError is a call or subscription that the master answered with an unexpected status.
type CallError struct {
	Call       scheduler.Call_Type
	StatusCode int
	// Message is the master's response body (its explanation), possibly truncated.
	Message string
}

func (e *CallError) Error() string {
	return fmt.Sprintf("sdk: %s: %d %s: %s", e.Call, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Permanent reports whether retrying the same call cannot succeed (a 4xx other than
// 408 Request Timeout and 429 Too Many Requests).
func (e *CallError) Permanent() bool {
	return e.StatusCode >= 400 && e.StatusCode < 500 &&
		e.StatusCode != http.StatusRequestTimeout && e.StatusCode != http.StatusTooManyRequests
}

// ErrorEvent is the master's fatal ERROR event (for example "Framework has been removed");
// Run returns it.
type ErrorEvent struct {
	Message string
}

func (e *ErrorEvent) Error() string { return "sdk: master error: " + e.Message }

func zapError(err error) zap.Field { return zap.Error(err) }
