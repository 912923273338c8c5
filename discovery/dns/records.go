package dns

import (
	"hash/fnv"
	"net"
	"sort"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
)

// Zone is the record set of one snapshot: every name under the domain (lowercase, fully
// qualified) with its records by type. A Zone is never changed once built.
type Zone struct {
	// Origin is the domain, fully qualified, e.g. "mesos.".
	Origin string
	// SOA is the zone's SOA record (its serial is the snapshot's).
	SOA   *mdns.SOA
	names map[string]map[uint16][]mdns.RR
}

// Lookup returns the records of name (any case) and whether the name exists in the zone.
func (z *Zone) Lookup(name string, qtype uint16) ([]mdns.RR, bool) {
	set, ok := z.names[name]
	if !ok {
		set, ok = z.names[strings.ToLower(name)]
		if !ok {
			return nil, false
		}
	}
	if qtype == mdns.TypeANY {
		var all []mdns.RR
		for _, t := range sortedTypes(set) {
			all = append(all, set[t]...)
		}
		return all, true
	}
	return set[qtype], true
}

// Names returns the zone's names, sorted.
func (z *Zone) Names() []string {
	out := make([]string, 0, len(z.names))
	for n := range z.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Len is how many names the zone holds.
func (z *Zone) Len() int { return len(z.names) }

// String renders the zone in master-file format, one record a line, sorted by name then type.
func (z *Zone) String() string {
	var b strings.Builder
	for _, n := range z.Names() {
		set := z.names[n]
		for _, t := range sortedTypes(set) {
			for _, rr := range set[t] {
				b.WriteString(rr.String())
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

func sortedTypes(set map[uint16][]mdns.RR) []uint16 {
	ts := make([]uint16, 0, len(set))
	for t := range set {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts
}

// Records computes the zone of snapshot st, Mesos-DNS's naming:
//
//   - leader.D, master.D (the leader and every master in masters given as ip:port),
//     masterN.D, and SRV _leader._tcp.D / _leader._udp.D;
//   - slave.D and agent.D: every agent's IP; SRV _slave._tcp.D with the agent's port 5051;
//   - for every TASK_RUNNING task whose latest health result (if any) is healthy, with T its
//     name as a label (Marathon's "cart.shop" → "cart-shop") and F its framework's name:
//     A T.F.D and T.F.slave.D → the agent's IP, A C.F.D and C.F.slave.D for the canonical
//     name C = T-<hash of task id>-<agent id's tail>, and SRV _T._tcp.F.D and _T._udp.F.D
//     with every port of the task's ports resource, target C.F.slave.D.
//
// The apex carries the SOA (serial given) and an NS record. Records is pure: no lookups, no
// clock; agents without an IP and tasks without a name are left out.
func Records(st *State, masters []string, cfg Config, serial uint32) *Zone {
	b := builder{origin: cfg.fqdn(), ttl: cfg.TTL, names: map[string]map[uint16][]mdns.RR{}, seen: map[rrKey]bool{}}
	o := b.origin
	soa := &mdns.SOA{
		Hdr:     mdns.RR_Header{Name: o, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: cfg.TTL},
		Ns:      mdns.Fqdn(cfg.SOAMname + "." + o),
		Mbox:    mdns.Fqdn(cfg.SOARname + "." + o),
		Serial:  serial,
		Refresh: 60, Retry: 600, Expire: 86400, Minttl: cfg.TTL,
	}
	b.add(soa, "")
	b.add(&mdns.NS{Hdr: b.hdr(o, mdns.TypeNS), Ns: soa.Ns}, soa.Ns)

	// Masters.
	if ip, port, ok := st.leaderAddr(); ok {
		b.a("leader."+o, ip)
		b.a("master."+o, ip)
		b.srv("_leader._tcp."+o, "leader."+o, port)
		b.srv("_leader._udp."+o, "leader."+o, port)
	}
	for i, m := range masters {
		host, _, err := net.SplitHostPort(m)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); ip != nil {
			b.a("master."+o, ip)
			b.a("master"+strconv.Itoa(i)+"."+o, ip)
		}
	}

	// Agents.
	agentIP := make(map[string]net.IP, len(st.Slaves))
	for _, a := range st.Slaves {
		ip := net.ParseIP(a.IP)
		if ip == nil {
			ip = net.ParseIP(a.Hostname)
		}
		if ip == nil {
			continue
		}
		agentIP[a.ID] = ip
		b.a("slave."+o, ip)
		b.a("agent."+o, ip)
	}

	// Tasks.
	for _, fw := range st.Frameworks {
		f := domainFrag(fw.Name)
		if f == "" {
			continue
		}
		for i := range fw.Tasks {
			t := &fw.Tasks[i]
			ip, ok := agentIP[t.SlaveID]
			name := label(t.Name)
			if !ok || name == "" || t.State != "TASK_RUNNING" || !t.healthy() {
				continue
			}
			canonical := name + "-" + hashID(t.ID) + "-" + agentTail(t.SlaveID)
			target := canonical + "." + f + ".slave." + o
			b.a(name+"."+f+"."+o, ip)
			b.a(name+"."+f+".slave."+o, ip)
			b.a(canonical+"."+f+"."+o, ip)
			b.a(target, ip)
			for _, p := range t.ports() {
				b.srv("_"+name+"._tcp."+f+"."+o, target, p)
				b.srv("_"+name+"._udp."+f+"."+o, target, p)
			}
		}
	}
	b.sort()
	return &Zone{Origin: o, SOA: soa, names: b.names}
}

// hashID is a short stable hash of a task id (base 36 of FNV-1a), as Mesos-DNS shortens ids.
func hashID(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

// agentTail is the last '-'-separated part of an agent id (Mesos's "…-S3" → "s3").
func agentTail(id string) string {
	if i := strings.LastIndexByte(id, '-'); i >= 0 {
		id = id[i+1:]
	}
	if l := label(id); l != "" {
		return l
	}
	return "x"
}

type builder struct {
	origin string
	ttl    uint32
	names  map[string]map[uint16][]mdns.RR
	seen   map[rrKey]bool // records added, to drop duplicates
}

// rrKey identifies a record by owner, type and data (an IP, or an SRV's port and target).
type rrKey struct {
	name  string
	rtype uint16
	data  string
}

func (b *builder) hdr(name string, t uint16) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: b.ttl}
}

func (b *builder) add(rr mdns.RR, data string) {
	h := rr.Header()
	key := rrKey{h.Name, h.Rrtype, data}
	if b.seen[key] {
		return
	}
	b.seen[key] = true
	set := b.names[h.Name]
	if set == nil {
		set = map[uint16][]mdns.RR{}
		b.names[h.Name] = set
	}
	set[h.Rrtype] = append(set[h.Rrtype], rr)
}

func (b *builder) a(name string, ip net.IP) {
	if ip4 := ip.To4(); ip4 != nil {
		b.add(&mdns.A{Hdr: b.hdr(name, mdns.TypeA), A: ip4}, string(ip4))
		return
	}
	b.add(&mdns.AAAA{Hdr: b.hdr(name, mdns.TypeAAAA), AAAA: ip}, string(ip.To16()))
}

func (b *builder) srv(name, target string, port uint16) {
	b.add(&mdns.SRV{Hdr: b.hdr(name, mdns.TypeSRV), Target: target, Port: port}, target+":"+strconv.Itoa(int(port)))
}

// sort orders each record set (addresses by value, SRV by target then port), so that zones
// are deterministic.
func (b *builder) sort() {
	for _, set := range b.names {
		for _, rrs := range set {
			if len(rrs) > 1 {
				sort.SliceStable(rrs, func(i, j int) bool { return rrLess(rrs[i], rrs[j]) })
			}
		}
	}
}

func rrLess(x, y mdns.RR) bool {
	switch a := x.(type) {
	case *mdns.A:
		return string(a.A.To4()) < string(y.(*mdns.A).A.To4())
	case *mdns.AAAA:
		return string(a.AAAA.To16()) < string(y.(*mdns.AAAA).AAAA.To16())
	case *mdns.SRV:
		b := y.(*mdns.SRV)
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Port < b.Port
	}
	return x.String() < y.String()
}
