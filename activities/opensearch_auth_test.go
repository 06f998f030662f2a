package activities

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/backfill"
	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/internal/wire"
)

// verifyingTwin serves an OpenSearch twin that verifies SigV4 as AWS does, knowing the key the
// tests sign with.
func verifyingTwin(t *testing.T, mode opensearchtwin.Mode) string {
	t.Helper()
	c := opensearchtwin.New(opensearchtwin.Options{Mode: mode, Logger: slog.New(slog.DiscardHandler),
		Auth: &opensearchtwin.Auth{Region: labEast, Secrets: func(k string) (string, bool) { return "lab-secret", k == "AKIDLAB" }}})
	require.Nil(t, c.IndexDocs("application-logs-2026.11.20", [][]byte{[]byte(`{"timestamp":"2026-11-20T10:00:00Z","event_id":"e-1"}`)}))
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func labFactory() *awsclients.Factory {
	return awsclients.New(awsclients.Options{Logger: slog.New(slog.DiscardHandler), LoadOptions: []func(*config.LoadOptions) error{
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDLAB", "lab-secret", "")),
	}, LabCredentials: aws.Credentials{AccessKeyID: "AKIDLAB", SecretAccessKey: "lab-secret"}})
}

// TestBackfillSignsForTheClusterKind: backfill verification signs with the service of the
// Region's kind, with the one default every reader uses — a collection whose environment leaves
// kind out is signed for aoss — and it signs in the lab too, where the endpoints verify
// signatures as AWS does. Before, it signed es unless kind was written serverless, and sent
// nothing signed to a Region with an aws_endpoint: AOSS answers both with 403.
func TestBackfillSignsForTheClusterKind(t *testing.T) {
	coll, dom := verifyingTwin(t, opensearchtwin.ModeServerless), verifyingTwin(t, opensearchtwin.ModeManaged)
	b := NewBackfill(BackfillOptions{AWS: labFactory(), Logger: slog.New(slog.DiscardHandler)})
	scope := backfill.Scope{Pattern: labIndexPattern, TimeField: "timestamp", IDField: "event_id"}
	window := backfill.Range{From: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).UnixMilli(), To: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).UnixMilli()}
	for name, rc := range map[string]runbook.RegionConfig{
		"collection without kind":             {OpenSearch: runbook.OpenSearch{Endpoint: coll}},
		"collection without kind, in the lab": {AWSEndpoint: "http://127.0.0.1:4510", OpenSearch: runbook.OpenSearch{Endpoint: coll}},
		"collection":                          {OpenSearch: runbook.OpenSearch{Kind: runbook.ClusterServerless, Endpoint: coll}},
		"domain":                              {OpenSearch: runbook.OpenSearch{Kind: runbook.ClusterManaged, Endpoint: dom}},
	} {
		side, err := b.openSearchSide(context.Background(), labEast, rc)
		require.NoError(t, err, name)
		counts, err := side.IndexCounts(context.Background(), scope, window)
		require.NoError(t, err, "%s: the endpoint refused the signature", name)
		require.Len(t, counts, 1, name)
		require.EqualValues(t, 1, counts[0].Count, name)
		closeBackfillSide(side)
	}
}

// TestSelfManagedClusterWithAClientCertificate: a self-managed cluster that authenticates
// clients by certificate gets the environment's client certificate, and its own certificate is
// checked against the environment's CA.
func TestSelfManagedClusterWithAClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := selfSigned(t, "switchyard test CA", nil, nil, true)
	server, serverKey := selfSigned(t, "127.0.0.1", ca, caKey, false)
	client, clientKey := selfSigned(t, "switchyard-worker", ca, caKey, false)
	write := func(name string, der []byte, typ string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	caFile := write("ca.pem", ca.Raw, "CERTIFICATE")
	certFile := write("client.pem", client.Raw, "CERTIFICATE")
	keyDER, err := x509.MarshalECPrivateKey(clientKey)
	require.NoError(t, err)
	keyFile := write("client-key.pem", keyDER, "EC PRIVATE KEY")

	twin := opensearchtwin.New(opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged, Zones: []string{"us-east-1a", "us-east-1b", "us-east-1c"},
		StandbyZone: "us-east-1c", Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(twin.Handler())
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	serverKeyDER, err := x509.MarshalECPrivateKey(serverKey)
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: serverKeyDER}))
	require.NoError(t, err)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	envDir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(envDir, "environments"), 0o755))
	env := `schema: switchyard/v1
name: certs
primary: us-east-1
secondary: us-west-2
topic: t
index_pattern: i-*
timestamp_field: ts
regions:
  us-east-1: {role: primary, msk_cluster_arn: a, inbound_replicator_arn: r, consumer_group: g, pipeline: p, opensearch: {endpoint: "https://e"}}
  us-west-2: {role: secondary, msk_cluster_arn: a, inbound_replicator_arn: r, consumer_group: g, pipeline: p, opensearch: {endpoint: "https://w"}}
zonal:
  kind: self_managed
  endpoint: ` + srv.URL + `
  region: us-east-1
  zones: [us-east-1a, us-east-1b, us-east-1c]
  tls: {ca_file: ` + caFile + `, cert_file: ` + certFile + `, key_file: ` + keyFile + `}
`
	require.NoError(t, os.WriteFile(filepath.Join(envDir, "environments", "certs.yaml"), []byte(env), 0o644))
	c := NewCloud(CloudOptions{RunbookDir: envDir, AWS: labFactory(), Logger: slog.New(slog.DiscardHandler)})
	w, err := c.ZoneWeights(context.Background(), ZoneWeightsArgs{Environment: "certs"})
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"us-east-1a": 1, "us-east-1b": 1, "us-east-1c": 0}, w.Weights)

	// Without the client certificate the cluster does not let the worker in.
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	_, err = plain.Get(srv.URL + "/_cluster/routing/awareness/zone/weights")
	require.Error(t, err)
}

// selfSigned makes an ECDSA certificate for cn, signed by parent (self-signed when nil).
func selfSigned(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if cn == "127.0.0.1" {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert, key
}

// TestZonalRunbooksNeedASelfManagedCluster loads the shipped zonal runbooks the way a run does
// (the LoadRunbook activity, with the worker's catalog): they load for the lab, whose zonal
// cluster is self-managed, and are refused — non-retryably, naming each zone-moving step's
// file:line:col and the environment's zonal.kind — for the same environment with a managed
// domain as its zonal cluster.
func TestZonalRunbooksNeedASelfManagedCluster(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "environments"), 0o755))
	for _, rb := range []string{"zonal-failover.yaml", "zonal-recover.yaml"} {
		src, err := os.ReadFile(filepath.Join("../runbooks", rb))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, rb), src, 0o644))
	}
	lab, err := os.ReadFile("../runbooks/environments/lab.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "lab.yaml"), lab, 0o644))
	i := bytes.Index(lab, []byte("\nzonal:\n"))
	j := bytes.Index(lab, []byte("\nslack:\n"))
	require.Positive(t, i)
	managed := string(lab[:i]) + `
zonal:
  endpoint: https://search-lab-multiaz.us-east-1.es.amazonaws.com
  region: us-east-1
  kind: managed
  domain: lab-multiaz
  zones: [us-east-1a, us-east-1b, us-east-1c]` + string(lab[j:])
	managed = strings.Replace(managed, "name: lab\n", "name: lab-managed\n", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "environments", "lab-managed.yaml"), []byte(managed), 0o644))

	e := &Engine{RunbookDir: dir, Registry: NewCatalogRegistry(Options{RunbookDir: dir})}
	for rb, params := range map[string]map[string]any{"zonal-failover": {"zone": "us-east-1a"}, "zonal-recover": {}} {
		_, err := e.LoadRunbook(context.Background(), wire.LoadRequest{Runbook: rb, Environment: "lab", Params: params})
		require.NoError(t, err, "%s on the lab's self-managed cluster", rb)
	}
	kindAt := fmt.Sprintf("(%s:", filepath.Join(dir, "environments", "lab-managed.yaml"))
	_, err = e.LoadRunbook(context.Background(), wire.LoadRequest{Runbook: "zonal-failover", Environment: "lab-managed", Params: map[string]any{"zone": "us-east-1a"}})
	requireNonRetryable(t, err, wire.ErrInvalidRunbook, `runbook "zonal-failover" cannot run in environment "lab-managed"`,
		filepath.Join(dir, "zonal-failover.yaml")+":", "step current_weights: opensearch.zone_weights needs a self_managed zonal cluster",
		"step weigh_away: opensearch.set_zone_weights", "step restore_weights: opensearch.set_zone_weights", "step decommission: opensearch.decommission_zone",
		`environment "lab-managed" has zonal.kind managed `+kindAt, "Amazon OpenSearch Service runs Multi-AZ with Standby itself")
	for _, line := range strings.Split(err.Error(), "\n")[1:] {
		require.Regexp(t, `^  \S+zonal-failover\.yaml:[0-9]+:[0-9]+: step `, line)
	}
	_, err = e.LoadRunbook(context.Background(), wire.LoadRequest{Runbook: "zonal-recover", Environment: "lab-managed"})
	requireNonRetryable(t, err, wire.ErrInvalidRunbook, "step recommission: opensearch.recommission_zone", "step recommissioned: opensearch.decommission_status")
}
