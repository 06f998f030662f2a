package opensearchtwin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"

	"github.com/switchyard-dr/switchyard/internal/lab/opensearchtwin"
)

func TestServerlessTimeSeriesCollection(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{Mode: opensearchtwin.ModeServerless, Name: "lab-opensearch-primary"})
	ctx := context.Background()

	// Custom ids are rejected per item, the way AOSS answers (langchain-ai/langchainjs#4346);
	// the other items of the request are indexed.
	resp := f.bulk(t, day1, []byte("{\"index\":{\"_id\":\"e-1\"}}\n{\"a\":1}\n{\"index\":{}}\n{\"a\":2}\n{\"create\":{\"_id\":\"e-2\"}}\n{\"a\":3}\n"))
	if !resp.Errors || len(resp.Items) != 3 {
		t.Fatalf("bulk: errors=%v items=%d", resp.Errors, len(resp.Items))
	}
	for i, action := range []string{"index", "index", "create"} {
		it := resp.Items[i][action]
		if i == 1 {
			if it.Status != 201 || it.Error != nil {
				t.Fatalf("item without id: %+v", it)
			}
			continue
		}
		if it.Status != 400 || it.Error == nil || it.Error.Type != "illegal_argument_exception" ||
			it.Error.Reason != "Document ID is not supported in create/index operation request" || it.ID == "" {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
	if n := f.count(t, []string{day1}, ""); n != 1 {
		t.Fatalf("count = %d", n)
	}
	_, err := f.client.Index(ctx, opensearchapi.IndexReq{Index: day1, DocumentID: "x", Body: strings.NewReader(`{"a":1}`)})
	if se := structErr(t, err); se.Status != 400 || se.Err.Reason != "Document ID is not supported in create/index operation request" {
		t.Fatalf("PUT _doc/{id}: %v", se)
	}

	// No cluster APIs, no scroll, no GET /.
	for _, path := range []string{"/_cluster/health", "/_cluster/routing/awareness/zone/weights", "/_cluster/decommission/awareness/zone/_status", "/_search/scroll"} {
		status, body := f.raw(t, "GET", path, "")
		if e := decodeError(t, body); status != 404 || e.Status != 404 || e.Error.Type == "" {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
	if _, err := f.client.Cluster.Health(ctx, nil); err == nil {
		t.Error("cluster health succeeded on a collection")
	}
	_, err = f.client.Search(ctx, &opensearchapi.SearchReq{Indices: []string{day1}, Params: opensearchapi.SearchParams{Scroll: time.Minute}})
	if se := structErr(t, err); se.Status != 404 {
		t.Fatalf("scroll: %v", se)
	}
	if status, _ := f.raw(t, "GET", "/", ""); status != 404 {
		t.Fatalf("GET / = %d", status)
	}

	// What AOSS does support: search, _cat/indices, PIT.
	if _, err := f.client.Cat.Indices(ctx, nil); err != nil {
		t.Fatalf("cat indices: %v", err)
	}
	pit, err := f.client.PointInTime.Create(ctx, opensearchapi.PointInTimeCreateReq{Indices: []string{day1}, Params: opensearchapi.PointInTimeCreateParams{KeepAlive: time.Minute}})
	if err != nil || pit.PitID == "" {
		t.Fatalf("pit: %v", err)
	}
}

func TestServerlessSearchCollectionAllowsIDs(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{Mode: opensearchtwin.ModeServerless, CollectionType: opensearchtwin.CollectionSearch})
	resp := f.bulk(t, day1, []byte("{\"index\":{\"_id\":\"e-1\"}}\n{\"a\":1}\n"))
	if resp.Errors || resp.Items[0]["index"].ID != "e-1" {
		t.Fatalf("bulk with id on a SEARCH collection: %+v", resp.Items)
	}
}

func TestUnavailableEndpoint(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	f.bulk(t, day1, ndjson(events(5, time.Second, 1, base, "us-east-1")))
	f.c.SetAvailable(false)
	for _, path := range []string{"/", "/_cluster/health", "/" + day1 + "/_search"} {
		status, body := f.raw(t, "GET", path, "")
		e := decodeError(t, body)
		if status != 503 || e.Status != 503 || e.Error.Type != "cluster_block_exception" || e.Error.RootCause[0].Type != "cluster_block_exception" {
			t.Fatalf("GET %s while impaired: %d %s", path, status, body)
		}
	}
	f.c.SetAvailable(true)
	if n := f.count(t, []string{day1}, ""); n != 5 {
		t.Fatalf("count after recovery = %d", n)
	}
}

func TestRefreshInterval(t *testing.T) {
	clock := newFakeClock()
	f := newFixture(t, opensearchtwin.Options{Now: clock.Now, RefreshInterval: 30 * time.Second})
	f.bulk(t, day1, ndjson(events(50, time.Second, 1, base, "us-east-1")))
	if n := f.count(t, []string{day1}, ""); n != 0 {
		t.Fatalf("visible before the refresh interval: %d", n)
	}
	clock.Advance(30 * time.Second)
	if n := f.count(t, []string{day1}, ""); n != 50 {
		t.Fatalf("visible after the refresh interval: %d", n)
	}
	f.bulk(t, day1, ndjson(events(5, time.Second, 1, base, "us-east-1")))
	if n := f.count(t, []string{day1}, ""); n != 50 {
		t.Fatalf("new writes visible early: %d", n)
	}
	if _, err := f.client.Indices.Refresh(context.Background(), &opensearchapi.IndicesRefreshReq{Index: []string{day1}}); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if n := f.count(t, []string{day1}, ""); n != 55 {
		t.Fatalf("after an explicit refresh: %d", n)
	}
	if f.c.DocCount(day1) != 55 {
		t.Fatalf("DocCount = %d", f.c.DocCount(day1))
	}
}

func TestExplicitMappingAndDocuments(t *testing.T) {
	f := newFixture(t, opensearchtwin.Options{})
	ctx := context.Background()
	_, err := f.client.Indices.Create(ctx, opensearchapi.IndicesCreateReq{Index: "events", Body: strings.NewReader(
		`{"mappings":{"dynamic":"strict","properties":{"event_id":{"type":"keyword"},"at":{"type":"date","format":"epoch_millis"},"n":{"type":"integer"}}}}`)})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := f.client.Indices.Create(ctx, opensearchapi.IndicesCreateReq{Index: "events"}); err == nil {
		t.Fatal("second create succeeded")
	} else if se := structErr(t, err); se.Err.Type != "resource_already_exists_exception" {
		t.Fatalf("second create: %v", se)
	}
	resp := f.bulk(t, "events", []byte("{\"index\":{\"_id\":\"1\"}}\n{\"event_id\":\"E-1\",\"at\":1000,\"n\":5}\n{\"index\":{}}\n{\"event_id\":\"E-2\",\"extra\":1}\n"))
	if it := resp.Items[1]["index"]; it.Error == nil || it.Error.Type != "strict_dynamic_mapping_exception" {
		t.Fatalf("strict mapping: %+v", it)
	}
	// event_id is a keyword: exact, case-sensitive, sortable.
	sr := f.search(t, []string{"events"}, `{"query":{"term":{"event_id":"E-1"}},"sort":["event_id"]}`)
	if sr.Hits.Total.Value != 1 || sr.Hits.Hits[0].ID != "1" || sr.Hits.Hits[0].Sort[0] != "E-1" {
		t.Fatalf("keyword term: %+v", sr.Hits)
	}
	if sr := f.search(t, []string{"events"}, `{"query":{"range":{"at":{"gte":1000,"lte":1000}}}}`); sr.Hits.Total.Value != 1 {
		t.Fatalf("range on an epoch_millis date: %d", sr.Hits.Total.Value)
	}
	idx, err := f.client.Index(ctx, opensearchapi.IndexReq{Index: "events", DocumentID: "1", Body: strings.NewReader(`{"event_id":"E-1b","at":2000,"n":6}`)})
	if err != nil || idx.Result != "updated" || idx.Version != 2 {
		t.Fatalf("update by id: %+v %v", idx, err)
	}
	del, err := f.client.Document.Delete(ctx, opensearchapi.DocumentDeleteReq{Index: "events", DocumentID: "1"})
	if err != nil || del.Result != "deleted" {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if n := f.count(t, []string{"events"}, ""); n != 0 {
		t.Fatalf("count after delete = %d", n)
	}
}

// TestSigV4SignedClient drives the twin with a client that signs every request (service "aoss"
// for a collection, "es" for a domain), as the runbook engine's clients do, and the twin verifies
// each signature with the secret of the key.
func TestSigV4SignedClient(t *testing.T) {
	for _, tc := range []struct {
		mode    opensearchtwin.Mode
		service string
	}{{opensearchtwin.ModeServerless, "aoss"}, {opensearchtwin.ModeManaged, "es"}} {
		t.Run(tc.service, func(t *testing.T) {
			c := opensearchtwin.New(opensearchtwin.Options{Mode: tc.mode, Logger: quietLogger(), Auth: labAuth()})
			var mu sync.Mutex
			var auth, sha []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				auth = append(auth, r.Header.Get("Authorization"))
				sha = append(sha, r.Header.Get("X-Amz-Content-Sha256"))
				mu.Unlock()
				c.Handler().ServeHTTP(w, r)
			}))
			defer srv.Close()
			client := signedClient(t, srv.URL, tc.service, "secret")
			resp, err := client.Bulk(context.Background(), opensearchapi.BulkReq{Index: day1, Body: strings.NewReader("{\"index\":{}}\n{\"a\":1}\n")})
			if err != nil || resp.Errors {
				t.Fatalf("signed bulk: %v", err)
			}
			cnt, err := client.Indices.Count(context.Background(), &opensearchapi.IndicesCountReq{Indices: []string{day1}})
			if err != nil || cnt.Count != 1 {
				t.Fatalf("signed count: %+v %v", cnt, err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range auth {
				if !strings.HasPrefix(auth[i], "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth[i], "/"+tc.service+"/aws4_request") || sha[i] == "" {
					t.Fatalf("request %d was not signed for %s: %q %q", i, tc.service, auth[i], sha[i])
				}
			}
		})
	}
}

func labAuth() *opensearchtwin.Auth {
	return &opensearchtwin.Auth{Region: "us-east-1", Secrets: func(k string) (string, bool) { return "secret", k == "AKIDEXAMPLE" }}
}

// signedClient signs with AKIDEXAMPLE and secret for service in us-east-1.
func signedClient(t *testing.T, url, service, secret string) *opensearchapi.Client {
	t.Helper()
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret, Source: "test"}, nil
	})
	sig, err := awsv2.NewSignerWithService(aws.Config{Region: "us-east-1", Credentials: creds}, service)
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	client, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{url}, Signer: sig, DisableRetry: true}})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return client
}

// send makes one request through client and returns the status, the body and the headers.
func send(t *testing.T, client *opensearchapi.Client, method, url, body string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	var resp *http.Response
	if client == nil {
		resp, err = http.DefaultClient.Do(req)
	} else {
		resp, err = client.Client.Stream(req)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestEndpointsRefuseAsAWSDoes: every OpenSearch request is authenticated the way its flavour's
// front door does it, and refused in that flavour's words. An unsigned request, one signed for
// the other service (es on a collection, aoss on a domain) and one signed with a wrong secret
// get 403; a self-managed cluster wants basic auth and answers 401.
func TestEndpointsRefuseAsAWSDoes(t *testing.T) {
	serve := func(o opensearchtwin.Options) string {
		o.Logger = quietLogger()
		srv := httptest.NewServer(opensearchtwin.New(o).Handler())
		t.Cleanup(srv.Close)
		return srv.URL
	}
	aoss := "{\"status\":403,\"request-id\":\""
	aossTail := "\",\"error\":{\"reason\":\"403 Forbidden\",\"type\":\"Forbidden\"}}"

	coll := serve(opensearchtwin.Options{Mode: opensearchtwin.ModeServerless, Auth: labAuth()})
	for name, cl := range map[string]*opensearchapi.Client{
		"unsigned": nil, "signed for es": signedClient(t, coll, "es", "secret"), "wrong secret": signedClient(t, coll, "aoss", "guess"),
	} {
		status, body, hdr := send(t, cl, "GET", coll+"/_cat/indices", "", nil)
		if status != 403 || !strings.HasPrefix(body, aoss) || !strings.HasSuffix(body, aossTail) || hdr.Get("X-Request-Id") == "" ||
			!strings.Contains(body, hdr.Get("X-Request-Id")) {
			t.Errorf("collection, %s: %d %s %v", name, status, body, hdr)
		}
	}
	if status, body, _ := send(t, signedClient(t, coll, "aoss", "secret"), "GET", coll+"/_cat/indices?format=json", "", nil); status != 200 {
		t.Errorf("collection, signed for aoss: %d %s", status, body)
	}

	dom := serve(opensearchtwin.Options{Mode: opensearchtwin.ModeManaged, Auth: labAuth(), Zones: threeZones, StandbyZone: "us-east-1c"})
	for _, tc := range []struct {
		name   string
		client *opensearchapi.Client
		method string
		want   string
	}{
		{"unsigned", nil, "GET", `{"Message":"User: anonymous is not authorized to perform: es:ESHttpGet"}`},
		{"unsigned PUT", nil, "PUT", `{"Message":"User: anonymous is not authorized to perform: es:ESHttpPut"}`},
		{"signed for aoss", signedClient(t, dom, "aoss", "secret"), "GET", `{"message":"Credential should be scoped to correct service: 'es'. "}`},
		{"wrong secret", signedClient(t, dom, "es", "guess"), "GET", `{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}`},
	} {
		body := ""
		if tc.method == "PUT" {
			body = "{}"
		}
		status, got, _ := send(t, tc.client, tc.method, dom+"/idx", body, map[string]string{"Content-Type": "application/json"})
		if status != 403 || got != tc.want {
			t.Errorf("domain, %s: %d %s", tc.name, status, got)
		}
	}
	esClient := signedClient(t, dom, "es", "secret")
	if status, body, _ := send(t, esClient, "GET", dom+"/_cluster/health", "", nil); status != 200 {
		t.Errorf("domain, signed for es: %d %s", status, body)
	}
	// Amazon OpenSearch Service keeps the zone APIs to itself: a signed customer gets 401.
	for _, path := range []string{"/_cluster/routing/awareness/zone/weights", "/_cluster/decommission/awareness/zone/_status"} {
		status, body, _ := send(t, esClient, "GET", dom+path, "", nil)
		if want := `{"Message":"Your request: '` + path + `' is not allowed."}`; status != 401 || body != want {
			t.Errorf("domain GET %s: %d %s", path, status, body)
		}
	}
	status, body, _ := send(t, esClient, "PUT", dom+"/_cluster/decommission/awareness/zone/us-east-1a", "", nil)
	if status != 401 || !strings.Contains(body, "is not allowed") {
		t.Errorf("domain PUT decommission: %d %s", status, body)
	}

	self := serve(opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged, Auth: &opensearchtwin.Auth{Users: map[string]string{"switchyard": "pw"}},
		Zones: threeZones, StandbyZone: "us-east-1c"})
	for name, hdr := range map[string]map[string]string{
		"no credentials": nil, "wrong password": {"Authorization": "Basic c3dpdGNoeWFyZDpub3Bl"}, "SigV4 only": {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/es/aws4_request, SignedHeaders=host, Signature=00"},
	} {
		status, body, h := send(t, nil, "GET", self+"/_cluster/routing/awareness/zone/weights", "", hdr)
		if status != 401 || body != "Unauthorized" || h.Get("WWW-Authenticate") != `Basic realm="OpenSearch Security"` {
			t.Errorf("self-managed, %s: %d %s %v", name, status, body, h)
		}
	}
	req, _ := http.NewRequest("GET", self+"/_cluster/routing/awareness/zone/weights", nil)
	req.SetBasicAuth("switchyard", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"us-east-1c":"0.0"`) {
		t.Errorf("self-managed with basic auth: %d %s", resp.StatusCode, b)
	}
}

// TestManagedDomainActivatesItsStandby: on a managed domain the service, not the customer, moves
// reads when an active zone fails — the standby zone takes its weight.
func TestManagedDomainActivatesItsStandby(t *testing.T) {
	c := opensearchtwin.New(opensearchtwin.Options{Mode: opensearchtwin.ModeManaged, Zones: threeZones, StandbyZone: "us-east-1c", Logger: quietLogger()})
	weights := func() map[string]string {
		out := map[string]string{}
		for _, z := range c.ZoneStats() {
			out[z.Zone] = z.Weight
		}
		return out
	}
	if err := c.SetZoneAvailable("us-east-1a", false); err != nil {
		t.Fatal(err)
	}
	if w := weights(); w["us-east-1a"] != "0.0" || w["us-east-1b"] != "1.0" || w["us-east-1c"] != "1.0" {
		t.Fatalf("after zone a failed: %v", w)
	}
	if err := c.SetZoneAvailable("us-east-1a", true); err != nil {
		t.Fatal(err)
	}
	if w := weights(); w["us-east-1a"] != "0.0" || w["us-east-1c"] != "1.0" {
		t.Fatalf("a recovered zone stays standby: %v", w)
	}
	self := opensearchtwin.New(opensearchtwin.Options{Mode: opensearchtwin.ModeSelfManaged, Zones: threeZones, StandbyZone: "us-east-1c", Logger: quietLogger()})
	if err := self.SetZoneAvailable("us-east-1a", false); err != nil {
		t.Fatal(err)
	}
	for _, z := range self.ZoneStats() {
		if z.Zone == "us-east-1a" && z.Weight != "1.0" {
			t.Fatalf("a self-managed cluster moves nothing by itself: %+v", z)
		}
	}
}
