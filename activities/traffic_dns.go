package activities

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// traffic.dns is the data-plane proof of a weight step: it resolves the environment's record the
// way a client does, through traffic.resolver, and checks the answers against the weights the
// step set. INSYNC says Route 53 accepted a change; the answers say where clients are sent.

// TrafficDNSArgs is the input of traffic.dns.
type TrafficDNSArgs struct {
	Environment string           `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string           `json:"region" catalog:"region,required" doc:"the Region the step moves traffic to (named in the result); DNS needs no credentials"`
	Weights     map[string]int64 `json:"weights" catalog:"weights,required" doc:"the weights by Region the answers must reflect (a Region left out has weight 0)"`
	Samples     int              `json:"samples,omitempty" default:"200" doc:"how many times to resolve the record (1 to 1000): with authoritative answers each is a fresh weighted choice, so a Region of weight 10 % is missing from 200 of them with probability 0.9^200"`
}

// TrafficDNSResult is the output of traffic.dns.
type TrafficDNSResult struct {
	OK            bool           `json:"ok"`
	Reason        string         `json:"reason"`
	Answers       map[string]int `json:"answers" doc:"how many answers named each Region (by traffic.values); values of no Region under their own text"`
	Samples       int            `json:"samples" doc:"how many answers were read"`
	Authoritative bool           `json:"authoritative" doc:"every answer came from the zone's name servers (AA flag): each was a fresh weighted choice, not a resolver's cached one"`
	Warnings      []string       `json:"warnings,omitempty" doc:"set when nothing could be checked: the environment sets no traffic.resolver"`
}

// defaultDNSSamples is traffic.dns's samples when left out: enough fresh answers that a Region of
// weight 10 % is missing from all of them with probability 0.9^200 ≈ 7e-10.
const defaultDNSSamples = 200

// maxDNSSamples bounds traffic.dns's samples: a step proves its point in a few hundred queries.
const maxDNSSamples = 1000

// TrafficDNS resolves the record Samples times through traffic.resolver and judges the answers
// against the weights with [dnsVerdict]. Run it under wait_until: a caching resolver keeps old
// answers for the record's TTL.
func (c *Cloud) TrafficDNS(ctx context.Context, in TrafficDNSArgs) (TrafficDNSResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return TrafficDNSResult{}, err
	}
	tr := t.env.Traffic
	if tr == nil {
		return TrafficDNSResult{}, badArgs("environment %s has no traffic section: no record to resolve", t.envName)
	}
	for r := range in.Weights {
		if _, ok := t.env.Regions[r]; !ok {
			return TrafficDNSResult{}, badArgs("weights name %q, which is not a Region of environment %s (have: %s)", r, t.envName, strings.Join(regionNames(t.env), ", "))
		}
	}
	samples := cmp.Or(in.Samples, defaultDNSSamples)
	if samples < 1 || samples > maxDNSSamples {
		return TrafficDNSResult{}, badArgs("samples must be 1 to %d, got %d", maxDNSSamples, in.Samples)
	}
	res := TrafficDNSResult{Answers: map[string]int{}}
	if tr.Resolver == "" {
		res.OK = true
		res.Reason = "DNS answers not checked: the environment sets no traffic.resolver"
		res.Warnings = []string{res.Reason + " (set it to system or to a DNS server's host:port to verify what clients resolve)"}
		return res, nil
	}
	if InPlan(ctx) {
		samples = 1 // one answer proves the resolver answers; the weights are not set yet
	}
	byValue := map[string]string{}
	for r, v := range tr.Values {
		byValue[normalizeDNSValue(v)] = r
	}
	res.Authoritative = true
	for range samples {
		l, err := resolveRecord(ctx, tr)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			// A resolver that does not answer is a failed check, tried again by wait_until.
			res.Reason = fmt.Sprintf("resolving %s through %s after %d answers: %v", tr.RecordName, tr.Resolver, res.Samples, err)
			return res, nil
		}
		res.Samples++
		res.Authoritative = res.Authoritative && l.authoritative
		for _, v := range l.values {
			key := normalizeDNSValue(v)
			if r, ok := byValue[key]; ok {
				key = r
			}
			res.Answers[key]++
		}
	}
	if InPlan(ctx) {
		res.OK = true
		res.Reason = fmt.Sprintf("would resolve %s %d times through %s and check the answers against weights %s; now: %s",
			tr.RecordName, cmp.Or(in.Samples, defaultDNSSamples), tr.Resolver, formatWeights(in.Weights), formatCounts(res.Answers))
		return res, nil
	}
	res.OK, res.Reason = dnsVerdict(in.Weights, regionNames(t.env), res.Answers, res.Samples, res.Authoritative)
	res.Reason = fmt.Sprintf("%s via %s: %s", tr.RecordName, tr.Resolver, res.Reason)
	return res, nil
}

// dnsMissBound is the largest chance of missing a Region in fresh answers that traffic.dns
// accepts as a failure: below it, a Region with weight that never answered is taken out of DNS
// (an unhealthy record, a change not applied), not unlucky.
const dnsMissBound = 1e-6

// dnsVerdict is the one rule that judges sampled DNS answers (counts by Region, or by value for
// an answer of no Region) against the weights a step set, over the environment's regions. Route 53
// answers each query with one record of the weighted group, chosen "based on the weight that you
// assign to the record as a proportion of the total weight for all records in the group", a weight
// of 0 never chosen while another is (all 0: equal probability)
// (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-weighted.html).
//
//   - Every answer must name a Region of the environment (traffic.values).
//   - A Region of weight 0 must not answer (while some weight is not 0): at 100 % only the
//     target answers. A cached answer from before the step fails this until its TTL runs out,
//     which is why the check runs under wait_until.
//   - A Region of share p > 0 must answer at least once when the answers are fresh (authoritative:
//     each a new weighted choice) and (1-p)^samples ≤ 1e-6: it is then all but certain that it
//     was left out (its health check unhealthy, the change not applied). Cached answers
//     (a recursive resolver, the system's) repeat one choice for the TTL, so there the rule
//     cannot ask for presence and only notes the absence.
func dnsVerdict(weights map[string]int64, regions []string, counts map[string]int, samples int, fresh bool) (bool, string) {
	if samples == 0 {
		return false, "no answers read"
	}
	seen := formatCounts(counts)
	var unknown []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if !slices.Contains(regions, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return false, fmt.Sprintf("answers %s are the value of no Region (traffic.values); %d answers: %s", strings.Join(unknown, ", "), samples, seen)
	}
	var total int64
	for _, r := range regions {
		total += max(weights[r], 0)
	}
	var fails, notes []string
	for _, r := range regions {
		w := max(weights[r], 0)
		p := 1 / float64(len(regions)) // all 0: equal probability
		if total > 0 {
			p = float64(w) / float64(total)
		}
		switch n := counts[r]; {
		case p == 0 && n > 0:
			fails = append(fails, fmt.Sprintf("%s has weight 0 but answered %d of %d (a resolver may still hold an answer from before the change, for the record's TTL)", r, n, samples))
		case p > 0 && n == 0 && fresh && math.Pow(1-p, float64(samples)) <= dnsMissBound:
			fails = append(fails, fmt.Sprintf("%s has weight %d (%.0f %%) but answered none of %d fresh answers: its record is left out (health check unhealthy, routing control Off?) or the weights were not applied",
				r, w, 100*p, samples))
		case p > 0 && n == 0 && !fresh:
			notes = append(notes, fmt.Sprintf("%s (weight %d) not seen: the answers are a resolver's cached ones, which repeat one choice for the TTL", r, w))
		case p > 0 && n == 0:
			notes = append(notes, fmt.Sprintf("%s (weight %d) not seen: %d answers are too few to require it", r, w, samples))
		}
	}
	summary := fmt.Sprintf("%d answers %s, weights %s", samples, seen, formatWeights(weights))
	if len(fails) > 0 {
		return false, strings.Join(fails, "; ") + "; " + summary
	}
	if len(notes) > 0 {
		summary += "; " + strings.Join(notes, "; ")
	}
	return true, summary
}

func formatCounts(counts map[string]int) string {
	parts := []string{}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func normalizeDNSValue(v string) string { return strings.ToLower(strings.TrimSuffix(v, ".")) }

// dnsLookup is one resolution of the record.
type dnsLookup struct {
	values []string
	// authoritative: the answer came from the zone's name servers (AA), a fresh choice.
	authoritative bool
}

// resolveRecord resolves the environment's record once, as a client does, through
// traffic.resolver: the system's resolver (whose answers may be cached, so never taken as
// authoritative), or the DNS server at host:port, asked directly so that its AA flag tells a
// name server's fresh answer from a resolver's cached one. traffic.state and traffic.dns both
// read DNS here.
func resolveRecord(ctx context.Context, tr *runbook.Traffic) (dnsLookup, error) {
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	name := strings.TrimSuffix(tr.RecordName, ".") + "."
	cnameRecord := strings.EqualFold(tr.RecordType, "CNAME")
	if tr.Resolver == runbook.ResolverSystem {
		if cnameRecord {
			cname, err := net.DefaultResolver.LookupCNAME(ctx, name)
			if err != nil {
				return dnsLookup{}, err
			}
			return dnsLookup{values: []string{strings.TrimSuffix(cname, ".")}}, nil
		}
		addrs, err := net.DefaultResolver.LookupHost(ctx, name)
		if err != nil {
			return dnsLookup{}, err
		}
		slices.Sort(addrs)
		return dnsLookup{values: addrs}, nil
	}
	qtype := dnsmessage.TypeA
	if strings.EqualFold(tr.RecordType, "AAAA") {
		qtype = dnsmessage.TypeAAAA
	}
	m, err := dnsExchange(ctx, tr.Resolver, name, qtype)
	if err != nil {
		return dnsLookup{}, err
	}
	switch m.RCode {
	case dnsmessage.RCodeSuccess:
	case dnsmessage.RCodeNameError:
		return dnsLookup{}, fmt.Errorf("%s: no such name (NXDOMAIN) at %s", name, tr.Resolver)
	default:
		return dnsLookup{}, fmt.Errorf("%s: %s answered %s", name, tr.Resolver, strings.TrimPrefix(m.RCode.String(), "RCode"))
	}
	out := dnsLookup{authoritative: m.Authoritative}
	for _, a := range m.Answers {
		if !strings.EqualFold(a.Header.Name.String(), name) {
			continue // a CNAME's target's records: not the record's value
		}
		switch b := a.Body.(type) {
		case *dnsmessage.CNAMEResource:
			out.values = append(out.values, strings.TrimSuffix(b.CNAME.String(), "."))
		case *dnsmessage.AResource:
			out.values = append(out.values, net.IP(b.A[:]).String())
		case *dnsmessage.AAAAResource:
			out.values = append(out.values, net.IP(b.AAAA[:]).String())
		}
	}
	if len(out.values) == 0 {
		return dnsLookup{}, fmt.Errorf("%s: no %s record in the answer of %s", name, tr.RecordType, tr.Resolver)
	}
	if !cnameRecord {
		slices.Sort(out.values)
	}
	return out, nil
}

// dnsExchange asks the DNS server at addr one question over UDP, and again over TCP when the
// answer is truncated (RFC 7766).
func dnsExchange(ctx context.Context, addr, name string, qtype dnsmessage.Type) (dnsmessage.Message, error) {
	qname, err := dnsmessage.NewName(name)
	if err != nil {
		return dnsmessage.Message{}, err
	}
	id := uint16(rand.Uint32())
	q := dnsmessage.Message{Header: dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: qname, Type: qtype, Class: dnsmessage.ClassINET}}}
	b, err := q.Pack()
	if err != nil {
		return dnsmessage.Message{}, err
	}
	for _, network := range []string{"udp", "tcp"} {
		m, err := exchangeOver(ctx, network, addr, b, id)
		if err != nil {
			return m, fmt.Errorf("ask %s over %s: %w", addr, network, err)
		}
		if !m.Truncated {
			return m, nil
		}
	}
	return dnsmessage.Message{}, fmt.Errorf("ask %s: the answer is truncated over TCP too", addr)
}

func exchangeOver(ctx context.Context, network, addr string, query []byte, id uint16) (dnsmessage.Message, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return dnsmessage.Message{}, err
	}
	defer c.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(dnsTimeout)
	}
	_ = c.SetDeadline(deadline)
	var m dnsmessage.Message
	if network == "tcp" {
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(query))), query...)); err != nil {
			return m, err
		}
		var size [2]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return m, err
		}
		buf := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, buf); err != nil {
			return m, err
		}
		if err := m.Unpack(buf); err != nil {
			return m, err
		}
		if m.ID != id || !m.Response {
			return m, errors.New("answer does not match the query")
		}
		return m, nil
	}
	if _, err := c.Write(query); err != nil {
		return m, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return m, err
		}
		// A datagram that is not the answer to this query (a late one) is skipped.
		if err := m.Unpack(buf[:n]); err == nil && m.ID == id && m.Response {
			return m, nil
		}
	}
}
