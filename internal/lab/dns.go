package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// DefaultDNSPort is the port of the lab's DNS server on the default ports (UDP and TCP): next to
// the lab's other 45xx ports, away from 53 (privileged) and 5353 (mDNS, often taken by avahi).
const DefaultDNSPort = 4553

// dnsServer is the lab's Route 53 DNS data plane on a real DNS port: the authoritative name
// servers of the lab's hosted zones, answering over UDP and TCP what Route 53's name servers
// answer, so that a client resolving a record (traffic.resolver, dig @127.0.0.1 -p 4553) gets what
// a client on AWS gets. It reads the twin's records and health checks at each query, through
// the same choice as the producers' router ([healthyCandidates], [chooseWeighted]); like
// Route53Router it never goes through a Region's endpoint, because DNS answers are Route 53's data
// plane, which keeps answering while a Region (us-east-1 and its control plane included) is
// impaired: "the Route 53 data plane ... is globally distributed and designed for a 100%
// availability SLA" (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/global-services.html).
type dnsServer struct {
	twin *awstwin.Twin
	// zones maps each served zone's name (lower case, with the trailing dot) to its ID.
	zones map[string]string
	log   *slog.Logger

	udp *net.UDPConn
	tcp net.Listener

	queries atomic.Uint64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]bool
	closed  bool
}

// startDNSServer binds host:port over UDP and TCP (port 0: a free port, the same for both) and
// answers for zones (name → hosted zone ID).
func startDNSServer(twin *awstwin.Twin, zones map[string]string, host string, port int, log *slog.Logger) (*dnsServer, error) {
	s := &dnsServer{twin: twin, zones: map[string]string{}, log: log.With("component", "dns"), conns: map[net.Conn]bool{}}
	for name, id := range zones {
		s.zones[fqdn(name)] = id
	}
	// A free UDP port may be taken over TCP: try a few.
	var err error
	for range 10 {
		if err = s.listen(host, port); err == nil || port != 0 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dns server on %s: %w", hostPort(host, port), err)
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

func (s *dnsServer) listen(host string, port int) error {
	u, err := net.ListenPacket("udp", hostPort(host, port))
	if err != nil {
		return err
	}
	bound := u.LocalAddr().(*net.UDPAddr).Port
	t, err := net.Listen("tcp", hostPort(host, bound))
	if err != nil {
		u.Close()
		return err
	}
	s.udp, s.tcp = u.(*net.UDPConn), t
	return nil
}

// Addr is the host:port the server answers on (UDP and TCP).
func (s *dnsServer) Addr() string { return s.udp.LocalAddr().String() }

// Queries is how many queries the server has answered.
func (s *dnsServer) Queries() uint64 { return s.queries.Load() }

// Close stops the server and waits for its goroutines.
func (s *dnsServer) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.udp.Close()
	s.tcp.Close()
	s.wg.Wait()
}

// maxUDPAnswer is the largest answer sent over UDP without EDNS: a longer one is truncated (TC)
// and the client asks again over TCP (RFC 1035 §4.2.1, RFC 7766).
const maxUDPAnswer = 512

func (s *dnsServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		out := s.answer(buf[:n], maxUDPAnswer)
		if out != nil {
			_, _ = s.udp.WriteToUDP(out, from)
		}
	}
}

func (s *dnsServer) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// serveConn answers the length-prefixed queries of one TCP connection (RFC 1035 §4.2.2) until the
// client closes it or stays idle for 10 s.
func (s *dnsServer) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	var size [2]byte
	for {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		out := s.answer(msg, 65535)
		if out == nil {
			return
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...)); err != nil {
			return
		}
	}
}

// answer builds the response to one query, at most limit bytes long (longer: truncated, TC set);
// nil when the query cannot be answered at all (not even its header parses).
func (s *dnsServer) answer(query []byte, limit int) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil
	}
	s.queries.Add(1)
	resp := dnsmessage.Message{Header: dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired}}
	qs, err := p.AllQuestions()
	switch {
	case err != nil || len(qs) != 1:
		resp.RCode = dnsmessage.RCodeFormatError
		return pack(resp, limit)
	case h.OpCode != 0:
		resp.Questions, resp.RCode = qs, dnsmessage.RCodeNotImplemented
		return pack(resp, limit)
	}
	resp.Questions = qs
	s.resolve(&resp, qs[0])
	return pack(resp, limit)
}

// resolve fills resp with the answer to q, as the zone's authoritative name servers give it.
func (s *dnsServer) resolve(resp *dnsmessage.Message, q dnsmessage.Question) {
	name := strings.ToLower(q.Name.String())
	zoneName, zoneID := s.zoneOf(name)
	if zoneID == "" || (q.Class != dnsmessage.ClassINET && q.Class != dnsmessage.ClassANY) {
		// A name server answers only for the zones it hosts.
		resp.RCode = dnsmessage.RCodeRefused
		return
	}
	resp.Authoritative = true
	records, err := s.twin.RecordSets(zoneID)
	if err != nil {
		resp.RCode = dnsmessage.RCodeServerFailure
		return
	}
	var atName, soa []awstwin.RecordSet
	for _, rs := range records {
		if rs.Name == name {
			atName = append(atName, rs)
		}
		if rs.Name == zoneName && rs.Type == "SOA" {
			soa = append(soa, rs)
		}
	}
	negative := func(rcode dnsmessage.RCode) {
		// Negative answers carry the zone's SOA, whose minimum field is how long resolvers cache
		// them: "the TTL for negative caching" is the SOA's last value, 86400 by default for
		// Route 53 (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/SOA-NSrecords.html).
		resp.RCode = rcode
		if len(soa) > 0 {
			resp.Authorities = s.resources(q.Name, soa[0], "SOA")
		}
	}
	if len(atName) == 0 {
		negative(dnsmessage.RCodeNameError)
		return
	}
	// A CNAME answers every type of query at its name (RFC 1034 §3.6.2); Route 53 allows no
	// other record beside one.
	typ := dnsTypes[q.Type]
	group := recordsOfType(atName, "CNAME")
	rtype := "CNAME"
	if len(group) == 0 || q.Type == dnsmessage.TypeCNAME {
		group, rtype = recordsOfType(atName, typ), typ
	}
	if len(group) == 0 {
		negative(dnsmessage.RCodeSuccess) // NODATA: the name exists, without this type
		return
	}
	resp.Answers = s.resources(q.Name, s.choose(group), rtype)
}

// choose is the record set of a name and type that one answer gives: with a routing policy,
// Route 53 answers from one record of the group, chosen among the healthy ones
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-how-route-53-chooses-records.html):
// weighted records by weight ([healthyCandidates], [chooseWeighted]: unhealthy records left
// out, all considered when none is healthy); failover records answer with the primary while it
// is healthy, else the secondary ("Route 53 routes traffic to the primary resource when it's
// healthy or to the secondary resource when the primary is unhealthy",
// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-failover.html).
// Other policies (latency, geolocation: no client location in the lab) answer with the first
// healthy record, the lab's choice.
func (s *dnsServer) choose(group []awstwin.RecordSet) awstwin.RecordSet {
	if len(group) == 1 {
		return group[0]
	}
	recs := make([]weightedRecord, 0, len(group))
	for _, rs := range group {
		recs = append(recs, weightedRecord{region: rs.SetIdentifier, rs: rs})
	}
	healthy := recordsHealth(s.twin, recs)
	if group[0].Weight != nil {
		return chooseWeighted(healthyCandidates(recs, healthy), mix(s.queries.Load()^0xd115)).rs
	}
	if group[0].Failover != "" {
		for _, want := range []string{"PRIMARY", "SECONDARY"} {
			for _, w := range recs {
				if w.rs.Failover == want && healthy[w.region] {
					return w.rs
				}
			}
		}
		for _, w := range recs {
			if w.rs.Failover == "PRIMARY" {
				return w.rs // neither healthy: fail open to the primary
			}
		}
	}
	for _, w := range recs {
		if healthy[w.region] {
			return w.rs
		}
	}
	return group[0]
}

func recordsOfType(recs []awstwin.RecordSet, typ string) []awstwin.RecordSet {
	var out []awstwin.RecordSet
	for _, rs := range recs {
		if rs.Type == typ && rs.AliasTarget == nil {
			out = append(out, rs)
		}
	}
	return out
}

// resources are the resource records of a record set as typ, with the record set's TTL: "the
// amount of time, in seconds, that you want DNS recursive resolvers to cache information about
// this record" (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-values-basic.html#rrsets-values-basic-ttl).
// Values the lab cannot encode are left out (and logged).
func (s *dnsServer) resources(name dnsmessage.Name, rs awstwin.RecordSet, typ string) []dnsmessage.Resource {
	var ttl uint32
	if rs.TTL != nil {
		ttl = uint32(*rs.TTL)
	}
	var out []dnsmessage.Resource
	for _, v := range rs.Values {
		body, rt, err := resourceBody(typ, v)
		if err != nil {
			s.log.Warn("dns: value not encoded", "name", rs.Name, "type", typ, "value", v, "error", err)
			continue
		}
		out = append(out, dnsmessage.Resource{Header: dnsmessage.ResourceHeader{Name: name, Type: rt, Class: dnsmessage.ClassINET, TTL: ttl}, Body: body})
	}
	return out
}

func resourceBody(typ, v string) (dnsmessage.ResourceBody, dnsmessage.Type, error) {
	switch typ {
	case "A", "AAAA":
		ip, err := netip.ParseAddr(v)
		if err != nil {
			return nil, 0, err
		}
		if typ == "A" && ip.Is4() {
			return &dnsmessage.AResource{A: ip.As4()}, dnsmessage.TypeA, nil
		}
		if typ == "AAAA" && ip.Is6() {
			return &dnsmessage.AAAAResource{AAAA: ip.As16()}, dnsmessage.TypeAAAA, nil
		}
		return nil, 0, fmt.Errorf("%s is not an %s address", v, typ)
	case "CNAME", "NS", "PTR":
		n, err := dnsmessage.NewName(fqdn(v))
		if err != nil {
			return nil, 0, err
		}
		switch typ {
		case "CNAME":
			return &dnsmessage.CNAMEResource{CNAME: n}, dnsmessage.TypeCNAME, nil
		case "NS":
			return &dnsmessage.NSResource{NS: n}, dnsmessage.TypeNS, nil
		}
		return &dnsmessage.PTRResource{PTR: n}, dnsmessage.TypePTR, nil
	case "TXT":
		var parts []string
		for _, p := range strings.Split(v, `" "`) {
			parts = append(parts, strings.Trim(p, `"`))
		}
		return &dnsmessage.TXTResource{TXT: parts}, dnsmessage.TypeTXT, nil
	case "MX":
		f := strings.Fields(v)
		if len(f) != 2 {
			return nil, 0, fmt.Errorf("MX value %q is not 'priority host'", v)
		}
		pref, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil {
			return nil, 0, err
		}
		n, err := dnsmessage.NewName(fqdn(f[1]))
		if err != nil {
			return nil, 0, err
		}
		return &dnsmessage.MXResource{Pref: uint16(pref), MX: n}, dnsmessage.TypeMX, nil
	case "SOA":
		f := strings.Fields(v)
		if len(f) != 7 {
			return nil, 0, fmt.Errorf("SOA value %q has %d fields, want 7", v, len(f))
		}
		ns, err1 := dnsmessage.NewName(fqdn(f[0]))
		mbox, err2 := dnsmessage.NewName(fqdn(f[1]))
		var nums [5]uint32
		var errs []error
		for i := range nums {
			n, err := strconv.ParseUint(f[2+i], 10, 32)
			nums[i], errs = uint32(n), append(errs, err)
		}
		if err := errors.Join(append(errs, err1, err2)...); err != nil {
			return nil, 0, err
		}
		return &dnsmessage.SOAResource{NS: ns, MBox: mbox, Serial: nums[0], Refresh: nums[1], Retry: nums[2], Expire: nums[3], MinTTL: nums[4]},
			dnsmessage.TypeSOA, nil
	}
	return nil, 0, fmt.Errorf("type %s is not served by the lab's DNS", typ)
}

// dnsTypes names the query types the lab's records can answer, as Route 53 spells them; a query
// of another type finds no records (NODATA).
var dnsTypes = map[dnsmessage.Type]string{dnsmessage.TypeA: "A", dnsmessage.TypeAAAA: "AAAA", dnsmessage.TypeCNAME: "CNAME",
	dnsmessage.TypeNS: "NS", dnsmessage.TypePTR: "PTR", dnsmessage.TypeTXT: "TXT", dnsmessage.TypeMX: "MX", dnsmessage.TypeSOA: "SOA"}

// zoneOf is the served zone name is in (the longest match) and its ID; "" when none.
func (s *dnsServer) zoneOf(name string) (string, string) {
	best := ""
	for z := range s.zones {
		if (name == z || strings.HasSuffix(name, "."+z)) && len(z) > len(best) {
			best = z
		}
	}
	return best, s.zones[best]
}

// pack encodes resp; one longer than limit is sent truncated, without its records, with TC set
// so that the client asks again over TCP.
func pack(resp dnsmessage.Message, limit int) []byte {
	out, err := resp.Pack()
	if err != nil {
		resp.Answers, resp.Authorities, resp.Additionals = nil, nil, nil
		resp.RCode = dnsmessage.RCodeServerFailure
		out, _ = resp.Pack()
		return out
	}
	if len(out) > limit {
		resp.Answers, resp.Authorities, resp.Additionals = nil, nil, nil
		resp.Truncated = true
		out, _ = resp.Pack()
	}
	return out
}

func fqdn(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) + "." }

// DNSAddr is the host:port of the lab's DNS server (UDP and TCP), which answers the hosted zone's
// records as Route 53's name servers do: what traffic.resolver names.
func (l *Lab) DNSAddr() string { return l.dns.Addr() }
