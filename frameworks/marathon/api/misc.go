package api

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/autoscale"
	"github.com/agoracluster/agora/frameworks/marathon/loop"
	"github.com/agoracluster/agora/frameworks/marathon/tasks"
)

func (a *API) listDeployments(w http.ResponseWriter, req *http.Request) {
	a.call(w, req, func(tx *loop.Tx) reply {
		v := tx.View()
		out := []any{}
		deploying := v.Deploying()
		for _, d := range v.Deployments() {
			out = append(out, deploymentInfo(v, d, deploying))
		}
		return reply{status: http.StatusOK, body: out}
	})
}

func (a *API) deleteDeployment(w http.ResponseWriter, req *http.Request) {
	id := mux.Vars(req)["id"]
	force := boolParam(req, "force")
	a.call(w, req, func(tx *loop.Tx) reply {
		d, err := tx.CancelDeployment(id, force)
		if err != nil {
			return errorReply(err)
		}
		if d == nil {
			return reply{status: http.StatusAccepted}
		}
		return deployedReply(*d)
	})
}

func (a *API) listQueue(w http.ResponseWriter, req *http.Request) {
	a.call(w, req, func(tx *loop.Tx) reply {
		return reply{status: http.StatusOK, body: map[string]any{"queue": a.render.queue(tx.View())}}
	})
}

func (a *API) resetDelay(w http.ResponseWriter, req *http.Request) {
	id := app.CanonicalID(mux.Vars(req)["id"], "/")
	a.call(w, req, func(tx *loop.Tx) reply {
		if err := tx.ResetDelay(id); err != nil {
			return errorReply(err)
		}
		return reply{status: http.StatusNoContent}
	})
}

// leaderAddr is this instance's advertised address.
func (a *API) leaderAddr() string {
	return net.JoinHostPort(a.cfg.Hostname, strconv.Itoa(a.cfg.HTTPPort))
}

func (a *API) leader(w http.ResponseWriter, req *http.Request) {
	writeReply(w, a.leaderReply(req.Method))
}

// autoscale is GET /v2/autoscale (Agora's own): each autoscaled app's policy, measured usage
// and latest decisions, optionally only those of ?appId=.
func (a *API) autoscale(w http.ResponseWriter, req *http.Request) {
	if a.cfg.Autoscaling == nil {
		writeReply(w, reply{status: http.StatusOK, body: map[string]any{"enabled": false, "apps": []any{}}})
		return
	}
	apps := a.cfg.Autoscaling()
	if id := req.URL.Query().Get("appId"); id != "" {
		id = "/" + strings.Trim(id, "/")
		apps = slices.DeleteFunc(apps, func(s autoscale.AppStatus) bool { return s.AppID != id })
	}
	writeReply(w, reply{status: http.StatusOK, body: map[string]any{"enabled": true, "apps": apps}})
}

func (a *API) info(w http.ResponseWriter, _ *http.Request) {
	writeReply(w, reply{status: http.StatusOK, body: a.infoBody()})
}

// infoBody is /v2/info: Marathon's fields, with this instance's values. Every key is one
// that Marathon 1.x reports and the client libraries' models take (python3-marathon
// builds its models from the keys and fails on unknown ones). Settings that have no
// counterpart here (task_reservation_timeout: no resident tasks; the proxy's read
// timeout: none) are left out, as Marathon leaves out the optional ones.
func (a *API) infoBody() map[string]any {
	c := a.cfg
	elected, leader := a.leaderState()
	var leaderOrNil any
	if leader != "" {
		leaderOrNil = leader
	}
	var frameworkID any
	if id := a.fw.FrameworkID(); id != "" {
		frameworkID = id
	}
	var mesosLeader any
	if c.MesosLeaderURL != nil {
		if u := c.MesosLeaderURL(); u != "" {
			mesosLeader = u
		}
	}
	features := c.Features
	if features == nil {
		features = []string{}
	}
	return map[string]any{
		"name":        "marathon",
		"version":     Version,
		"buildref":    "agora",
		"elected":     elected,
		"leader":      leaderOrNil,
		"frameworkId": frameworkID,
		"marathon_config": map[string]any{
			"master":                             strings.Join(c.Masters, ","),
			"failover_timeout":                   int64(c.FailoverTimeout.Seconds()),
			"framework_name":                     c.FrameworkName,
			"ha":                                 c.Leadership != nil,
			"checkpoint":                         true,
			"local_port_min":                     c.ServicePortMin,
			"local_port_max":                     c.ServicePortMax,
			"executor":                           "//cmd",
			"hostname":                           c.Hostname,
			"webui_url":                          c.WebUIURL,
			"mesos_role":                         c.Role,
			"mesos_user":                         c.User,
			"task_launch_timeout":                c.TaskLaunchTimeout.Milliseconds(),
			"reconciliation_initial_delay":       0, // at every subscription
			"reconciliation_interval":            c.ReconciliationInterval.Milliseconds(),
			"decline_offer_duration":             c.DeclineOfferDuration.Milliseconds(),
			"leader_proxy_connection_timeout_ms": c.LeaderProxyConnectTimeout.Milliseconds(),
			"mesos_leader_ui_url":                mesosLeader,
			"features":                           features,
		},
		"zookeeper_config": a.zooKeeperConfig(),
		"http_config":      map[string]any{"http_port": c.HTTPPort, "https_port": nil, "assets_path": nil},
		"event_subscriber": a.eventSubscriber(),
	}
}

// eventSubscriber is /v2/info's event_subscriber: null unless the HTTP callback
// subscribers run (--event_subscriber http_callback).
func (a *API) eventSubscriber() any {
	if a.cfg.Callbacks == nil {
		return nil
	}
	return map[string]any{"type": "http_callback", "http_endpoints": a.cfg.Callbacks.Endpoints()}
}

// metrics serves Prometheus metrics of the framework state, read on the loop.
func (a *API) metrics(w http.ResponseWriter, req *http.Request) {
	var apps, deployments, queued, running, staged, healthy, unhealthy float64
	if err := a.fw.Do(req.Context(), func(tx *loop.Tx) {
		v := tx.View()
		c := v.Counts()
		apps, deployments, queued = float64(c.Apps), float64(c.Deployments), float64(c.Queued)
		for t := range v.Tasks() {
			switch t.State {
			case tasks.StateRunning:
				running++
			case tasks.StateStaging, tasks.StateStarting:
				staged++
			}
			if t.Healthy != nil {
				if *t.Healthy {
					healthy++
				} else {
					unhealthy++
				}
			}
		}
	}); err != nil {
		writeReply(w, msgReply(http.StatusServiceUnavailable, "%s", err.Error()))
		return
	}
	reg := prometheus.NewRegistry()
	gauge := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "marathon", Name: name, Help: help})
		g.Set(v)
		reg.MustRegister(g)
	}
	gauge("apps_active", "Apps defined.", apps)
	gauge("deployments_active", "Deployments running.", deployments)
	gauge("launch_queue_size", "Task launches waiting for offers.", queued)
	gauge("tasks_running", "Tasks in TASK_RUNNING.", running)
	gauge("tasks_staged", "Tasks launched and not yet running.", staged)
	gauge("tasks_healthy", "Tasks passing health checks.", healthy)
	gauge("tasks_unhealthy", "Tasks failing health checks.", unhealthy)
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, req)
}
