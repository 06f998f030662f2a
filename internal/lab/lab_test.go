package lab

import (
	"encoding/json"
	"net"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

func TestDefaultEnvironmentIsLabYAML(t *testing.T) {
	file, err := runbook.LoadEnvironmentFile("../../runbooks/environments/lab.yaml")
	require.NoError(t, err)
	got := DefaultEnvironment()
	file.Pos, file.Zonal.KindPos = runbook.Pos{}, runbook.Pos{}
	require.Equal(t, file.Regions, got.Regions, "Region fields")
	require.Equal(t, file.Traffic, got.Traffic)
	require.Equal(t, file.Zonal, got.Zonal)
	file.Regions, got.Regions, file.Traffic, got.Traffic, file.Zonal, got.Zonal = nil, nil, nil, nil, nil, nil
	require.Equal(t, file, got, "top-level fields")
}

func TestEndpointsAndEnvironmentNameTheBoundPorts(t *testing.T) {
	l := startTestLab(t, nil)
	ep := l.Endpoints()

	b, err := json.Marshal(ep)
	require.NoError(t, err)
	var shape map[string]any
	require.NoError(t, json.Unmarshal(b, &shape))
	require.Contains(t, shape, "fault_api")
	regions := shape["regions"].(map[string]any)
	require.Len(t, regions, 2)
	for _, r := range []string{east, west} {
		var keys []string
		for k := range regions[r].(map[string]any) {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		require.Equal(t, []string{"aws_endpoint", "kafka_bootstrap", "opensearch_url"}, keys, "the documented shape, exactly")
	}

	env := l.Environment()
	ports := map[string]bool{}
	for _, r := range []string{east, west} {
		rc := env.Regions[r]
		require.Equal(t, ep.Regions[r].AWSEndpoint, rc.AWSEndpoint)
		require.Equal(t, ep.Regions[r].OpenSearchURL, rc.OpenSearch.Endpoint)
		require.Equal(t, strings.Split(ep.Regions[r].KafkaBootstrap, ","), rc.KafkaBootstrap)
		require.Equal(t, l.Cluster(r).Bootstrap(), rc.KafkaBootstrap)
		for _, u := range []string{rc.AWSEndpoint, rc.OpenSearch.Endpoint, "http://" + rc.KafkaBootstrap[0]} {
			pu, err := url.Parse(u)
			require.NoError(t, err)
			_, port, err := net.SplitHostPort(pu.Host)
			require.NoError(t, err)
			require.False(t, ports[port], "port %s used twice", port)
			ports[port] = true
		}
	}
	require.Equal(t, ep.Zonal.OpenSearchURL, env.Zonal.Endpoint)
	// The DNS server's port is the environment's traffic.resolver, and it answers the record.
	require.Equal(t, l.DNSAddr(), ep.DNS)
	require.Equal(t, ep.DNS, env.Traffic.Resolver)
	_, dnsPort, err := net.SplitHostPort(ep.DNS)
	require.NoError(t, err)
	require.False(t, ports[dnsPort], "port %s used twice", dnsPort)
	m := exchange(t, "udp", ep.DNS, RecordName+".", dnsmessage.TypeA)
	require.Len(t, m.Answers, 1)
	require.Equal(t, ingestHost(east)+".", m.Answers[0].Body.(*dnsmessage.CNAMEResource).CNAME.String())
	// Apart from the ports, the environment is the default one.
	def := DefaultEnvironment()
	for _, r := range []string{east, west} {
		rc, dc := env.Regions[r], def.Regions[r]
		rc.AWSEndpoint, rc.KafkaBootstrap, rc.OpenSearch.Endpoint = "", nil, ""
		dc.AWSEndpoint, dc.KafkaBootstrap, dc.OpenSearch.Endpoint = "", nil, ""
		require.Equal(t, dc, rc)
	}
}
