package api

import (
	"context"
	"net/http"

	"github.com/agoracluster/agora/frameworks/marathon/callbacks"
)

// Callbacks are the HTTP callback event subscribers (--event_subscriber http_callback).
type Callbacks interface {
	URLs() []string
	Endpoints() []string
	Subscribe(ctx context.Context, clientIP, callbackURL string) (*callbacks.SubscriptionEvent, error)
	Unsubscribe(ctx context.Context, clientIP, callbackURL string) (*callbacks.SubscriptionEvent, error)
}

const msgNoCallbacks = `http event callback system is not running on this Marathon instance. Please re-start this instance with "--event_subscriber http_callback".`

// eventSubscriptions serves /v2/eventSubscriptions: GET lists the callback URLs, POST
// and DELETE ?callbackUrl= subscribe and unsubscribe one.
func (a *API) eventSubscriptions(w http.ResponseWriter, req *http.Request) {
	cb := a.cfg.Callbacks
	if cb == nil {
		writeReply(w, msgReply(http.StatusBadRequest, "%s", msgNoCallbacks))
		return
	}
	if req.Method == http.MethodGet {
		writeReply(w, reply{status: http.StatusOK, body: map[string]any{"callbackUrls": cb.URLs()}})
		return
	}
	u := req.URL.Query().Get("callbackUrl")
	if u == "" {
		writeReply(w, msgReply(http.StatusBadRequest, "callbackUrl: query parameter is required"))
		return
	}
	ip := origin(req).IP
	var (
		ev  *callbacks.SubscriptionEvent
		err error
	)
	if req.Method == http.MethodPost {
		if err = callbacks.ValidateURL(u); err != nil {
			writeReply(w, msgReply(http.StatusBadRequest, "%s", err.Error()))
			return
		}
		ev, err = cb.Subscribe(req.Context(), ip, u)
	} else {
		ev, err = cb.Unsubscribe(req.Context(), ip, u)
	}
	if err != nil {
		writeReply(w, msgReply(http.StatusServiceUnavailable, "%s", err.Error()))
		return
	}
	writeReply(w, reply{status: http.StatusOK, body: ev})
}
