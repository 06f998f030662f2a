package lab

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// dnsTestZone is a twin with the lab's hosted zone, its weighted CNAME (each record with a
// RECOVERY_CONTROL health check whose routing control the test turns On and Off), and the DNS
// server answering for it.
type dnsTestZone struct {
	twin *awstwin.Twin
	srv  *dnsServer
	mu   sync.Mutex
	on   map[string]bool // routing control ARN → On
	arns map[string]string
}

func startDNSTestZone(t *testing.T) *dnsTestZone {
	t.Helper()
	z := &dnsTestZone{twin: awstwin.New(awstwin.Options{Logger: testLogger()}), on: map[string]bool{}, arns: map[string]string{}}
	t.Cleanup(z.twin.Close)
	z.twin.SetHealthCheckHooks(awstwin.HealthCheckHooks{RoutingControlState: func(arn string) (bool, bool) {
		z.mu.Lock()
		defer z.mu.Unlock()
		on, ok := z.on[arn]
		return on, ok
	}})
	require.NoError(t, z.twin.PutHostedZone(HostedZoneID, HostedZone, true))
	for _, r := range []string{east, west} {
		arn := "arn:aws:route53-recovery-control::000000000000:controlpanel/abc/routingcontrol/" + strings.ReplaceAll(r, "-", "")
		z.arns[r], z.on[arn] = arn, true
	}
	z.setWeights(t, map[string]int64{east: 100, west: 0})
	srv, err := startDNSServer(z.twin, map[string]string{HostedZone: HostedZoneID}, "127.0.0.1", 0, testLogger())
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	z.srv = srv
	return z
}

func (z *dnsTestZone) setWeights(t *testing.T, weights map[string]int64) {
	t.Helper()
	ttl := int64(5)
	for _, r := range []string{east, west} {
		hc, err := z.twin.CreateHealthCheck("dns-test-"+r, awstwin.HealthCheckConfig{Type: awstwin.HealthCheckRecoveryControl, RoutingControlArn: z.arns[r]})
		require.NoError(t, err)
		w := weights[r]
		require.NoError(t, z.twin.UpsertRecordSet(HostedZoneID, awstwin.RecordSet{Name: RecordName, Type: "CNAME", SetIdentifier: r,
			Weight: &w, TTL: &ttl, Values: []string{ingestHost(r)}, HealthCheckID: hc}))
	}
}

func (z *dnsTestZone) setControl(region string, on bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.on[z.arns[region]] = on
}

// exchange sends one query over network (udp or tcp) and returns the parsed response.
func exchange(t *testing.T, network, addr, name string, typ dnsmessage.Type) dnsmessage.Message {
	t.Helper()
	q := dnsmessage.Message{Header: dnsmessage.Header{ID: 4242, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}}}
	b, err := q.Pack()
	require.NoError(t, err)
	c, err := net.Dial(network, addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	var out []byte
	if network == "tcp" {
		_, err = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
		require.NoError(t, err)
		var size [2]byte
		_, err = io.ReadFull(c, size[:])
		require.NoError(t, err)
		out = make([]byte, binary.BigEndian.Uint16(size[:]))
		_, err = io.ReadFull(c, out)
		require.NoError(t, err)
	} else {
		_, err = c.Write(b)
		require.NoError(t, err)
		out = make([]byte, 65535)
		n, err := c.Read(out)
		require.NoError(t, err)
		out = out[:n]
	}
	var m dnsmessage.Message
	require.NoError(t, m.Unpack(out))
	require.Equal(t, uint16(4242), m.ID)
	require.True(t, m.Response)
	return m
}

// resolveCounts asks n times over UDP and counts the answers by Region, checking each carries
// the record's TTL and the authoritative flag.
func (z *dnsTestZone) resolveCounts(t *testing.T, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		m := exchange(t, "udp", z.srv.Addr(), RecordName+".", dnsmessage.TypeA)
		require.Equal(t, dnsmessage.RCodeSuccess, m.RCode)
		require.True(t, m.Authoritative, "the zone's name servers answer authoritatively")
		require.Len(t, m.Answers, 1, "one record of the weighted group per answer")
		a := m.Answers[0]
		require.Equal(t, uint32(5), a.Header.TTL, "the answer carries the record's TTL")
		cname, ok := a.Body.(*dnsmessage.CNAMEResource)
		require.True(t, ok, "a CNAME answers an A query: %v", a.Body)
		switch cname.CNAME.String() {
		case ingestHost(east) + ".":
			out[east]++
		case ingestHost(west) + ".":
			out[west]++
		default:
			t.Fatalf("unexpected answer %s", cname.CNAME)
		}
	}
	return out
}

// The lab's DNS server answers the weighted record as Route 53 does: by weight, leaving out
// records whose health check is unhealthy (a weight-0 record answers when every non-zero one is
// unhealthy), considering all when none is healthy, with the record's TTL.
func TestDNSServerAnswersTheWeightedRecordHonouringHealthChecks(t *testing.T) {
	z := startDNSTestZone(t)

	require.Equal(t, map[string]int{east: 200}, z.resolveCounts(t, 200), "weight 0 disables a record")

	z.setWeights(t, map[string]int64{east: 10, west: 90})
	got := z.resolveCounts(t, 1000)
	require.InDelta(t, 100, got[east], 40, "10 %% of the answers: %v", got)
	require.InDelta(t, 900, got[west], 40, "90 %% of the answers: %v", got)

	z.setWeights(t, map[string]int64{east: 100, west: 0})
	z.setControl(east, false)
	require.Equal(t, map[string]int{west: 200}, z.resolveCounts(t, 200), "the unhealthy record is left out; the weight-0 one answers")

	z.setControl(west, false)
	require.Equal(t, map[string]int{east: 200}, z.resolveCounts(t, 200), "none healthy: all considered, by weight (fail open)")

	z.setWeights(t, map[string]int64{east: 50, west: 50})
	got = z.resolveCounts(t, 400)
	require.Greater(t, got[east], 100, "fail open answers with every record: %v", got)
	require.Greater(t, got[west], 100, "fail open answers with every record: %v", got)

	z.setControl(east, true)
	require.Equal(t, map[string]int{east: 200}, z.resolveCounts(t, 200), "only the healthy record answers")
}

// Names outside the zone are refused, names in it without records get NXDOMAIN and existing names
// without the type asked NODATA, both with the zone's SOA; TCP answers as UDP does; and Go's
// resolver (traffic.resolver's client) reads the CNAME through it.
func TestDNSServerNegativeAnswersTCPAndGoResolver(t *testing.T) {
	z := startDNSTestZone(t)
	addr := z.srv.Addr()

	m := exchange(t, "udp", addr, "example.com.", dnsmessage.TypeA)
	require.Equal(t, dnsmessage.RCodeRefused, m.RCode, "not a zone the name servers host")

	m = exchange(t, "udp", addr, "nothing."+HostedZone+".", dnsmessage.TypeA)
	require.Equal(t, dnsmessage.RCodeNameError, m.RCode)
	require.True(t, m.Authoritative)
	require.Len(t, m.Authorities, 1)
	soa, ok := m.Authorities[0].Body.(*dnsmessage.SOAResource)
	require.True(t, ok)
	require.Equal(t, uint32(86400), soa.MinTTL, "Route 53's default negative-caching TTL")

	m = exchange(t, "udp", addr, HostedZone+".", dnsmessage.TypeTXT)
	require.Equal(t, dnsmessage.RCodeSuccess, m.RCode, "NODATA: the apex exists")
	require.Empty(t, m.Answers)
	require.Len(t, m.Authorities, 1)

	m = exchange(t, "udp", addr, strings.ToUpper(HostedZone)+".", dnsmessage.TypeNS)
	require.Len(t, m.Answers, 4, "names are case-insensitive; the apex's NS records")

	m = exchange(t, "tcp", addr, RecordName+".", dnsmessage.TypeCNAME)
	require.Equal(t, dnsmessage.RCodeSuccess, m.RCode)
	require.Len(t, m.Answers, 1)
	require.Equal(t, ingestHost(east)+".", m.Answers[0].Body.(*dnsmessage.CNAMEResource).CNAME.String())

	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cname, err := r.LookupCNAME(ctx, RecordName+".")
	require.NoError(t, err)
	require.Equal(t, ingestHost(east)+".", cname)
	_, err = r.LookupHost(ctx, "nothing."+HostedZone+".")
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	require.True(t, dnsErr.IsNotFound, "NXDOMAIN reads as not found: %v", err)
}

// The DNS data plane keeps answering while us-east-1 is impaired, Route 53's control plane with
// it, and follows the routing controls: us-east-1's control Off, only us-west-2 answers.
func TestDNSServerAnswersWhileUSEast1IsImpaired(t *testing.T) {
	l := startTestLab(t, nil)
	_, err := l.Inject(context.Background(), Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	require.NoError(t, l.ARC().SetRoutingControlState(l.RoutingControls()[east], false))
	for range 50 {
		m := exchange(t, "udp", l.DNSAddr(), RecordName+".", dnsmessage.TypeA)
		require.Equal(t, dnsmessage.RCodeSuccess, m.RCode)
		require.Len(t, m.Answers, 1)
		require.Equal(t, ingestHost(west)+".", m.Answers[0].Body.(*dnsmessage.CNAMEResource).CNAME.String())
	}
}
