package dns

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
)

// hostJSON and serviceJSON are Mesos-DNS's HTTP API records (a port is a string there).
type hostJSON struct {
	Host string `json:"host"`
	IP   string `json:"ip"`
}

type serviceJSON struct {
	Service string `json:"service"`
	Host    string `json:"host"`
	IP      string `json:"ip"`
	Port    string `json:"port"`
}

// HTTPHandler serves Mesos-DNS's HTTP API: /v1/version, /v1/config, /v1/hosts/{host} and
// /v1/services/{service}. A name without records gets one empty entry, as Mesos-DNS answers.
func (s *Server) HTTPHandler(version string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"Service": "agora dns", "URL": "https://github.com/agoracluster/agora", "Version": version})
	})
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, s.cfg)
	})
	mux.HandleFunc("GET /v1/hosts/{host}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.hosts(r.PathValue("host")))
	})
	mux.HandleFunc("GET /v1/services/{service}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, s.services(r.PathValue("service")))
	})
	return mux
}

func (s *Server) hosts(host string) []hostJSON {
	name := strings.ToLower(mdns.Fqdn(host))
	z := s.zone.Load()
	var out []hostJSON
	for _, t := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
		rrs, _ := z.Lookup(name, t)
		for _, rr := range rrs {
			out = append(out, hostJSON{Host: name, IP: rrIP(rr)})
		}
	}
	if len(out) == 0 {
		return []hostJSON{{}}
	}
	return out
}

func (s *Server) services(service string) []serviceJSON {
	name := strings.ToLower(mdns.Fqdn(service))
	z := s.zone.Load()
	rrs, _ := z.Lookup(name, mdns.TypeSRV)
	var out []serviceJSON
	for _, rr := range rrs {
		srv := rr.(*mdns.SRV)
		as, _ := z.Lookup(srv.Target, mdns.TypeA)
		aaaas, _ := z.Lookup(srv.Target, mdns.TypeAAAA)
		for _, a := range append(as, aaaas...) {
			out = append(out, serviceJSON{Service: name, Host: srv.Target, IP: rrIP(a), Port: strconv.Itoa(int(srv.Port))})
		}
	}
	if len(out) == 0 {
		return []serviceJSON{{}}
	}
	return out
}

func rrIP(rr mdns.RR) string {
	var ip net.IP
	switch r := rr.(type) {
	case *mdns.A:
		ip = r.A
	case *mdns.AAAA:
		ip = r.AAAA
	}
	return ip.String()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
