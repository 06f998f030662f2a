package lab

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// call sends one request to the lab, signed for service (none when ""), and returns the status
// and the body.
func call(t *testing.T, method, url, service, region string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if service != "" {
		creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
		require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, emptySHA256, service, region, time.Now()))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestLabOpenSearchAuthenticatesAsAWSDoes: every OpenSearch endpoint of the lab checks who calls,
// as its real counterpart does — the collections and the managed domain verify SigV4 with the
// lab's key (unsigned, signed for the other service, or without the payload hash AOSS wants:
// 403), the managed domain keeps the zone APIs to itself (401), the self-managed zonal cluster
// wants the basic-auth password the lab keeps in SSM — and the lab's own pipelines sign their
// writes, so documents still arrive.
func TestLabOpenSearchAuthenticatesAsAWSDoes(t *testing.T) {
	l := startTestLab(t, nil)
	ep := l.Endpoints()
	coll := ep.Regions[east].OpenSearchURL + "/_cat/indices"
	sha := map[string]string{"X-Amz-Content-Sha256": emptySHA256}

	for _, tc := range []struct {
		name, service string
		hdr           map[string]string
	}{{"unsigned", "", nil}, {"signed for es", "es", sha}, {"without x-amz-content-sha256", "aoss", nil}} {
		status, body := call(t, "GET", coll, tc.service, east, tc.hdr)
		require.Equal(t, http.StatusForbidden, status, tc.name)
		require.Contains(t, body, `"error":{"reason":"403 Forbidden","type":"Forbidden"}`, tc.name)
	}
	status, body := call(t, "GET", coll, "aoss", west, sha)
	require.Equal(t, http.StatusForbidden, status, "signed for the other Region: %s", body)
	status, body = call(t, "GET", coll, "aoss", east, sha)
	require.Equal(t, http.StatusOK, status, body)

	// The pipeline's writes are signed: a record produced in us-east-1 reaches the collection.
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(ep.Regions[east].KafkaBootstrap, ",")...))
	require.NoError(t, err)
	defer cl.Close()
	before := l.Collection(east).DocCount(IndexPattern)
	require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Topic: Topic,
		Value: []byte(`{"timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","message":"signed write"}`)}).FirstErr())
	eventually(t, 20*time.Second, func() (bool, string) {
		return l.Collection(east).DocCount(IndexPattern) > before, "the pipeline's document in the collection"
	})

	dom := ep.Domain.OpenSearchURL
	status, body = call(t, "GET", dom+"/_cluster/health", "", east, nil)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, `{"Message":"User: anonymous is not authorized to perform: es:ESHttpGet"}`, body)
	status, body = call(t, "GET", dom+"/_cluster/health", "aoss", east, sha)
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, `{"message":"Credential should be scoped to correct service: 'es'. "}`, body)
	status, body = call(t, "GET", dom+"/_cluster/health", "es", east, nil)
	require.Equal(t, http.StatusOK, status, body)
	status, body = call(t, "GET", dom+"/_cluster/routing/awareness/zone/weights", "es", east, nil)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, `{"Message":"Your request: '/_cluster/routing/awareness/zone/weights' is not allowed."}`, body)

	// The self-managed cluster: basic auth, with the password an operator reads from SSM.
	weights := ep.Zonal.OpenSearchURL + "/_cluster/routing/awareness/zone/weights"
	status, _ = call(t, "GET", weights, "es", east, nil)
	require.Equal(t, http.StatusUnauthorized, status, "a self-managed cluster does not know SigV4")
	out, err := ssm.NewFromConfig(sdkConfig(l, east)).GetParameter(context.Background(),
		&ssm.GetParameterInput{Name: aws.String(ep.Zonal.PasswordParameter), WithDecryption: aws.Bool(true)})
	require.NoError(t, err)
	req, err := http.NewRequest("GET", weights, nil)
	require.NoError(t, err)
	req.SetBasicAuth(ep.Zonal.User, aws.ToString(out.Parameter.Value))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	require.Contains(t, string(b), `"us-east-1c":"0.0"`)
}

// The key the lab knows is the one the worker's clients sign with when they reach a lab on this
// machine without AWS credentials of their own.
func TestLabKeyIsTheClientsLabKey(t *testing.T) {
	cfg, err := awsclients.New(awsclients.Options{}).Config(context.Background(), awsclients.Region{Name: east, Endpoint: "http://127.0.0.1:4510"})
	require.NoError(t, err)
	creds, err := cfg.Credentials.Retrieve(context.Background())
	require.NoError(t, err)
	require.Equal(t, AccessKeyID, creds.AccessKeyID)
	require.Equal(t, SecretAccessKey, creds.SecretAccessKey)
}
