package lb

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// StatsResponse is the body of GET /_lb/stats.
type StatsResponse struct {
	Group     string          `json:"group"`
	Balance   Balance         `json:"balance"`
	Frontends []FrontendStats `json:"frontends"`
	// Unbound are the service ports that could not be listened on.
	Unbound []UnboundPort `json:"unbound"`
}

// AdminHandler serves /_lb/stats (every frontend's and backend's counters, JSON), /metrics
// (the same in Prometheus's format), /_lb/table and /health (200 once the proxy has a table
// from Marathon, 503 before).
func (p *Proxy) AdminHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{p: p})
	mux := newAdminMux(p.Table)
	mux.HandleFunc("GET /_lb/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(StatsResponse{Group: p.cfg.Group, Balance: p.cfg.Balance, Frontends: p.Stats(), Unbound: p.Unbound()})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// newAdminMux serves what every mode's admin API has: /health (200 once there is a table
// from Marathon, 503 before) and /_lb/table (the table, JSON).
func newAdminMux(table func() (Table, bool)) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_lb/table", func(w http.ResponseWriter, r *http.Request) {
		t, _ := table()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(t)
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := table(); !ok {
			http.Error(w, "no routing table from Marathon yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("OK\n"))
	})
	return mux
}

// AdminHandler serves /health and /_lb/table for the HAProxy mode, and /_lb/haproxy.cfg:
// the configuration last rendered.
func (w *HAProxyWriter) AdminHandler() http.Handler {
	mux := newAdminMux(w.Table)
	mux.HandleFunc("GET /_lb/haproxy.cfg", func(rw http.ResponseWriter, r *http.Request) {
		t, _ := w.Table()
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = rw.Write(RenderHAProxy(t, w.opts))
	})
	return mux
}

// collector exports the proxy's counters at each scrape.
type collector struct{ p *Proxy }

var (
	labelsFrontend = []string{"frontend", "app_id"}
	labelsBackend  = []string{"frontend", "app_id", "backend", "task_id"}

	descFrontendActive = prometheus.NewDesc("agora_lb_frontend_connections_active", "Connections (HTTP: requests) in progress on the frontend.", labelsFrontend, nil)
	descFrontendTotal  = prometheus.NewDesc("agora_lb_frontend_connections_total", "Connections (HTTP: requests) taken by the frontend.", labelsFrontend, nil)
	descFrontendErrors = prometheus.NewDesc("agora_lb_frontend_errors_total", "Connections (HTTP: requests) the frontend could not serve.", labelsFrontend, nil)
	descFrontendBytes  = prometheus.NewDesc("agora_lb_frontend_bytes_total", "Bytes proxied by the frontend; direction in: from clients, out: to clients.", append(labelsFrontend, "direction"), nil)
	descBackendActive  = prometheus.NewDesc("agora_lb_backend_connections_active", "Connections (HTTP: requests) in progress to the backend.", labelsBackend, nil)
	descBackendTotal   = prometheus.NewDesc("agora_lb_backend_connections_total", "Connections (HTTP: requests) made to the backend.", labelsBackend, nil)
	descBackendErrors  = prometheus.NewDesc("agora_lb_backend_errors_total", "Failed connections (HTTP: requests) to the backend; each was retried on the next backend where it could be.", labelsBackend, nil)
	descBackendBytes   = prometheus.NewDesc("agora_lb_backend_bytes_total", "Bytes proxied to and from the backend; direction in: to it, out: from it.", append(labelsBackend, "direction"), nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFrontendActive, descFrontendTotal, descFrontendErrors, descFrontendBytes,
		descBackendActive, descBackendTotal, descBackendErrors, descBackendBytes} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, f := range c.p.Stats() {
		fl := []string{f.Name, f.AppID}
		ch <- prometheus.MustNewConstMetric(descFrontendActive, prometheus.GaugeValue, float64(f.Active), fl...)
		ch <- prometheus.MustNewConstMetric(descFrontendTotal, prometheus.CounterValue, float64(f.Total), fl...)
		ch <- prometheus.MustNewConstMetric(descFrontendErrors, prometheus.CounterValue, float64(f.Errors), fl...)
		ch <- prometheus.MustNewConstMetric(descFrontendBytes, prometheus.CounterValue, float64(f.BytesIn), append(fl, "in")...)
		ch <- prometheus.MustNewConstMetric(descFrontendBytes, prometheus.CounterValue, float64(f.BytesOut), append(fl, "out")...)
		for _, b := range f.Backends {
			bl := []string{f.Name, f.AppID, b.Addr, b.TaskID}
			ch <- prometheus.MustNewConstMetric(descBackendActive, prometheus.GaugeValue, float64(b.Active), bl...)
			ch <- prometheus.MustNewConstMetric(descBackendTotal, prometheus.CounterValue, float64(b.Total), bl...)
			ch <- prometheus.MustNewConstMetric(descBackendErrors, prometheus.CounterValue, float64(b.Errors), bl...)
			ch <- prometheus.MustNewConstMetric(descBackendBytes, prometheus.CounterValue, float64(b.BytesIn), append(bl, "in")...)
			ch <- prometheus.MustNewConstMetric(descBackendBytes, prometheus.CounterValue, float64(b.BytesOut), append(bl, "out")...)
		}
	}
}
