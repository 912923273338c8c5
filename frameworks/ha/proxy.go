package ha

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
)

// ViaHeader is the header a proxying follower adds ("1.1 host:port"), as
// Marathon does; a request that already names this instance in it is a
// proxying loop.
const ViaHeader = "Via"

// LeaderHeader is the header the leader sets on its answers (Marathon's
// X-Marathon-Leader: "http://host:port").
const LeaderHeader = "X-Marathon-Leader"

// Leadership is what the proxy needs of a Node.
type Leadership interface {
	Leader() (string, error)
	Address() string
}

// ProxyDialTimeout bounds the proxy's connection to the leader (Marathon's
// --leader_proxy_connection_timeout).
const ProxyDialTimeout = 5 * time.Second

// Proxy returns the handler a follower serves: each request is forwarded
// to the leader's host:port (the path, query, body and headers as they
// came, credentials included, with Via and X-Forwarded-For added), streams
// (server-sent events) flushed as they come; 503 with {"message":…} while no
// leader is known, 502 when the leader cannot be reached or on a proxying
// loop. With peerTLS (the instances serve HTTPS) the leader is reached over
// HTTPS with that client configuration: its certificate is checked against
// the configured CA, and this instance's is shown when the leader asks.
func Proxy(l Leadership, peerTLS *tls.Config, log *zap.Logger) http.Handler {
	via := "1.1 " + l.Address()
	scheme := Scheme(peerTLS)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			leader, _ := pr.In.Context().Value(leaderKey{}).(string)
			pr.SetURL(&url.URL{Scheme: scheme, Host: leader})
			pr.SetXForwarded()
			pr.Out.Header.Add(ViaHeader, via)
		},
		FlushInterval: -1,
		ModifyResponse: func(r *http.Response) error {
			r.Header.Add(ViaHeader, via)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("proxy to the leader", zap.String("path", r.URL.Path), zap.Error(err))
			writeMessage(w, http.StatusBadGateway, "Could not reach the leader: "+err.Error())
		},
	}
	rp.Transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: ProxyDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     peerTLS,
		TLSHandshakeTimeout: ProxyDialTimeout,
		IdleConnTimeout:     90 * time.Second,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, v := range r.Header.Values(ViaHeader) {
			for hop := range strings.SplitSeq(v, ",") {
				if strings.TrimSpace(hop) == via {
					writeMessage(w, http.StatusBadGateway, "Detected proxying loop.")
					return
				}
			}
		}
		leader, err := l.Leader()
		if err != nil {
			writeMessage(w, http.StatusServiceUnavailable, "Could not determine the current leader")
			return
		}
		if leader == l.Address() {
			// Elected a moment ago, the framework not yet started here.
			writeMessage(w, http.StatusServiceUnavailable, "Leader is starting; try again")
			return
		}
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), leaderKey{}, leader)))
	})
}

// Scheme is the scheme of the instances' REST APIs: "https" when they serve TLS (peerTLS is
// how one reaches another), else "http".
func Scheme(peerTLS *tls.Config) string {
	if peerTLS != nil {
		return "https"
	}
	return "http"
}

// leaderKey keys the leader's address in a proxied request's context.
type leaderKey struct{}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}
