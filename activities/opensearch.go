package activities

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchtransport"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// osTarget is one OpenSearch endpoint resolved from an environment: a Region's collection or
// domain, or the environment's zonal (three-zone) cluster.
type osTarget struct {
	t        target
	endpoint string
	// kind is serverless (SigV4 service aoss), managed (service es) or, for the zonal cluster,
	// self_managed (basic auth or a client certificate, no SigV4): runbook's ClusterKind.
	kind         string
	collection   string
	collectionID string
	domain       string
	zonal        bool
	attribute    string
	zones        []string
	// auth and tls reach a self-managed cluster.
	auth *runbook.ClusterAuth
	tls  *runbook.ClusterTLS
}

// name identifies the endpoint in messages.
func (o osTarget) name() string {
	switch {
	case o.kind == runbook.ClusterServerless && o.collection != "":
		return "collection " + o.collection
	case o.domain != "":
		return "domain " + o.domain
	case o.kind == runbook.ClusterSelfManaged:
		return "self-managed cluster " + o.endpoint
	}
	return "OpenSearch " + o.endpoint
}

// service is the SigV4 service the target's requests are signed for; "" for a self-managed
// cluster.
func (o osTarget) service() string { return runbook.SigningService(o.kind) }

// osTarget resolves the OpenSearch endpoint of a call: with zonal, the environment's zonal
// cluster (whose Region is fixed by the environment; a region argument must then name it);
// otherwise the Region's collection or domain.
func (c *Cloud) osTarget(ctx context.Context, envName, region string, zonal bool) (osTarget, error) {
	if !zonal {
		t, err := c.target(ctx, envName, region)
		if err != nil {
			return osTarget{}, err
		}
		osc := t.rc.OpenSearch
		o := osTarget{t: t, endpoint: osc.Endpoint, kind: osc.ClusterKind(), collection: osc.Collection,
			collectionID: osc.CollectionID, domain: osc.Domain}
		return o, nil
	}
	env, err := c.envs.load(ctx, envName)
	if err != nil {
		return osTarget{}, err
	}
	z := env.Zonal
	if z == nil {
		return osTarget{}, badArgs("environment %s has no zonal cluster", envName)
	}
	if region != "" && region != z.Region {
		return osTarget{}, badArgs("the zonal cluster of environment %s is in %s, not %s", envName, z.Region, region)
	}
	rc := env.Regions[z.Region] // credentials and the lab endpoint of the cluster's Region, when it is one of the pair
	t := target{envName: envName, env: env, region: z.Region, rc: rc, aws: awsclients.FromEnvironment(z.Region, rc)}
	return osTarget{t: t, endpoint: z.Endpoint, kind: z.ClusterKind(), domain: z.Domain, zonal: true,
		attribute: cmp.Or(z.Attribute, "zone"), zones: z.Zones, auth: z.Auth, tls: z.TLS}, nil
}

type osClientKey struct {
	endpoint, kind string
	region         awsclients.Region
}

// openSearch returns a client for the target's endpoint: signed with SigV4 for its service with
// the Region's credentials (collections and domains; the lab verifies those signatures as AWS
// does), or with basic auth or a client certificate for a self-managed cluster. Clients are
// cached per endpoint to reuse connections; forgetOpenSearch drops one whose login was refused,
// so a rotated password is read again.
func (c *Cloud) openSearch(ctx context.Context, o osTarget) (*opensearch.Client, error) {
	if o.endpoint == "" {
		return nil, badArgs("no OpenSearch endpoint configured for %s in environment %s", o.t.region, o.t.envName)
	}
	key := osClientKey{endpoint: o.endpoint, kind: o.kind, region: o.t.aws}
	c.osMu.Lock()
	defer c.osMu.Unlock()
	if cl, ok := c.osClients[key]; ok {
		return cl, nil
	}
	u, err := url.Parse(o.endpoint)
	if err != nil || u.Host == "" {
		return nil, badArgs("OpenSearch endpoint %q of %s is not a URL", o.endpoint, o.t.region)
	}
	base := c.opts.OpenSearchTransport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	// Node discovery, health checks and node-stats polling are off: they call _nodes and
	// _cluster/health, which Serverless does not have, and a check wants one request per read.
	cfg := opensearchtransport.Config{
		URLs:                  []*url.URL{u},
		MaxRetries:            2,
		RequestTimeout:        30 * time.Second,
		RetryBackoff:          func(attempt int) time.Duration { return time.Duration(attempt) * 200 * time.Millisecond },
		HealthCheckMaxRetries: -1,
		MaxRetryClusterHealth: -1,
		NodeStatsInterval:     -1,
	}
	if o.kind == runbook.ClusterSelfManaged {
		if err := c.selfManagedLogin(ctx, o, &cfg, &base); err != nil {
			return nil, err
		}
	} else {
		awsCfg, err := c.opts.AWS.Config(ctx, o.t.aws)
		if err != nil {
			return nil, Permanent(err)
		}
		sg, err := awsv2.NewSignerWithService(awsCfg, o.service())
		if err != nil {
			return nil, Permanent(fmt.Errorf("SigV4 signer for %s in %s: %w", o.service(), o.t.region, err))
		}
		cfg.Signer = sg
	}
	cfg.Transport = base
	tp, err := opensearchtransport.New(cfg)
	if err != nil {
		return nil, Permanent(fmt.Errorf("OpenSearch client for %s: %w", o.endpoint, err))
	}
	cl := &opensearch.Client{Transport: tp}
	c.osClients[key] = cl
	return cl, nil
}

// forgetOpenSearch drops the cached client of o, so the next call logs in again.
func (c *Cloud) forgetOpenSearch(o osTarget) {
	c.osMu.Lock()
	defer c.osMu.Unlock()
	delete(c.osClients, osClientKey{endpoint: o.endpoint, kind: o.kind, region: o.t.aws})
}

// selfManagedLogin sets up how a self-managed cluster is logged in to: basic auth with the
// password read from its secret reference now, and TLS with the environment's CA and client
// certificate. No SigV4: such a cluster does not know AWS credentials.
func (c *Cloud) selfManagedLogin(ctx context.Context, o osTarget, cfg *opensearchtransport.Config, base *http.RoundTripper) error {
	if b := o.auth; b != nil && b.Basic != nil {
		user := b.Basic.Username
		if runbook.IsSecretRef(user) {
			var err error
			if user, err = c.secret(ctx, o, "zonal.auth.basic.username", user); err != nil {
				return err
			}
		}
		pass, err := c.secret(ctx, o, "zonal.auth.basic.password", b.Basic.Password)
		if err != nil {
			return err
		}
		cfg.Username, cfg.Password = user, pass
	} else if !o.tls.ClientCertificate() {
		return badArgs("the zonal cluster of environment %s is self_managed but has neither auth.basic nor a client certificate (tls.cert_file, tls.key_file)", o.t.envName)
	}
	if o.tls == nil || (o.tls.CAFile == "" && !o.tls.ClientCertificate()) {
		return nil
	}
	ht, ok := (*base).(*http.Transport)
	if !ok {
		return Permanent(fmt.Errorf("the zonal cluster's tls settings need an *http.Transport, the worker has a %T", *base))
	}
	ht = ht.Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if ht.TLSClientConfig != nil {
		tc = ht.TLSClientConfig.Clone()
	}
	if f := o.tls.CAFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return Permanent(fmt.Errorf("zonal.tls.ca_file of environment %s: %w", o.t.envName, err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return Permanent(fmt.Errorf("zonal.tls.ca_file %s of environment %s holds no PEM certificate", f, o.t.envName))
		}
		tc.RootCAs = pool
	}
	if o.tls.ClientCertificate() {
		cert, err := tls.LoadX509KeyPair(o.tls.CertFile, o.tls.KeyFile)
		if err != nil {
			return Permanent(fmt.Errorf("zonal.tls client certificate of environment %s: %w", o.t.envName, err))
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	ht.TLSClientConfig = tc
	*base = ht
	return nil
}

// secret reads the secret a reference in the environment names: env:NAME from the worker's
// environment, file:/path from a file (a mounted secret; one trailing newline is dropped) and
// ssm:/name from SSM Parameter Store, decrypted, in the cluster's Region. Messages name the
// reference, never the value.
func (c *Cloud) secret(ctx context.Context, o osTarget, field, ref string) (string, error) {
	r, err := runbook.ParseSecretRef(ref)
	if err != nil {
		return "", badArgs("%s of environment %s: %v", field, o.t.envName, err)
	}
	var v string
	switch r.Scheme {
	case runbook.SecretEnv:
		v = os.Getenv(r.Name)
	case runbook.SecretFile:
		b, err := os.ReadFile(r.Name)
		if err != nil {
			return "", Permanent(fmt.Errorf("%s (%s) of environment %s: %w", field, r, o.t.envName, err))
		}
		v = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	case runbook.SecretSSM:
		sc, err := c.opts.AWS.SSM(ctx, o.t.aws)
		if err != nil {
			return "", Permanent(err)
		}
		out, err := sc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(r.Name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", Wrap(err, "read "+field+" ("+r.String()+") of environment "+o.t.envName, "parameter "+r.Name, o.t.region)
		}
		if out.Parameter != nil {
			v = aws.ToString(out.Parameter.Value)
		}
	}
	if v == "" {
		return "", Permanent(fmt.Errorf("%s of environment %s: %s is empty or not set on this worker", field, o.t.envName, r))
	}
	return v, nil
}

// osHTTPError is an OpenSearch answer with a non-2xx status.
type osHTTPError struct {
	Status int
	Type   string
	Reason string
}

func (e *osHTTPError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Type, e.Reason)
	}
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Reason)
}

// osUnreachable is a request that got no HTTP answer.
type osUnreachable struct{ err error }

func (e *osUnreachable) Error() string { return e.err.Error() }
func (e *osUnreachable) Unwrap() error { return e.err }

// osDo sends one request and decodes a 2xx JSON answer into out (when not nil).
func (c *Cloud) osDo(ctx context.Context, o osTarget, method, path string, params url.Values, body any, out any) error {
	cl, err := c.openSearch(ctx, o)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Permanent(fmt.Errorf("encode %s %s: %w", method, path, err))
		}
		rd = bytes.NewReader(b)
	}
	u := path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return Permanent(fmt.Errorf("%s %s: %w", method, path, err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cl.Stream(req)
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && resp == nil:
		return &osUnreachable{err: err}
	case resp.StatusCode == http.StatusUnauthorized && o.kind == runbook.ClusterSelfManaged:
		c.forgetOpenSearch(o) // the password may have been rotated: read it again next time
	}
	raw, rerr := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode >= 300 {
		return parseOSError(resp.StatusCode, raw)
	}
	if rerr != nil {
		return &osUnreachable{err: fmt.Errorf("read answer: %w", rerr)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode answer to %s %s: %w", method, path, err)
		}
	}
	return nil
}

func parseOSError(status int, raw []byte) *osHTTPError {
	e := &osHTTPError{Status: status}
	var body struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && len(body.Error) > 0 {
		var structured struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(body.Error, &structured) == nil && (structured.Type != "" || structured.Reason != "") {
			e.Type, e.Reason = structured.Type, structured.Reason
			return e
		}
		var s string
		if json.Unmarshal(body.Error, &s) == nil {
			e.Reason = s
			return e
		}
	}
	e.Reason = strings.TrimSpace(string(raw))
	if len(e.Reason) > 300 {
		e.Reason = e.Reason[:300] + "…"
	}
	if e.Reason == "" {
		e.Reason = http.StatusText(status)
	}
	return e
}

// osWrap classifies an OpenSearch failure like Wrap does AWS ones: throttling, 5xx (including
// the 503 of a blocked cluster) and no answer at all are retried, the last typed
// RegionUnreachable; authorization, not found and bad requests fail at once, naming the
// endpoint and the Region.
func osWrap(err error, action string, o osTarget) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := fmt.Sprintf("%s on %s (%s) in %s: %v", action, o.name(), o.endpoint, o.t.region, err)
	var refused *osHTTPError
	if o.zonal && o.kind == runbook.ClusterManaged && errors.As(err, &refused) && refused.Status == http.StatusUnauthorized {
		// What a managed domain answers the zone APIs: they are the service's own.
		msg += " (Amazon OpenSearch Service runs Multi-AZ with Standby itself and does not let customers move zones; zonal failover needs zonal.kind self_managed)"
	}
	var unreachable *osUnreachable
	if errors.As(err, &unreachable) {
		return regionUnreachable(fmt.Errorf("%s", msg))
	}
	var he *osHTTPError
	if !errors.As(err, &he) {
		return fmt.Errorf("%s: %w", msg, err)
	}
	switch {
	case he.Status == http.StatusTooManyRequests || he.Status >= 500:
		return fmt.Errorf("%s: %w", msg, err)
	case he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden:
		return temporal.NewNonRetryableApplicationError(msg, ErrAccessDenied, err)
	case he.Status == http.StatusNotFound:
		return temporal.NewNonRetryableApplicationError(msg, ErrNotFound, err)
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrValidation, err)
}

// osTime formats t the way OpenSearch's default date parser (strict_date_optional_time) reads
// it, in UTC with milliseconds.
func osTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
