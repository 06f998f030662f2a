package opensearchtwin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/lab/awstwin"
)

// Auth says who an endpoint lets in, as the front door of each flavour decides:
//
//   - An OpenSearch Serverless collection and an Amazon OpenSearch Service domain authenticate
//     every request with Signature Version 4 — service "aoss" for a collection, "es" for a
//     domain — before anything else happens. The twin verifies the signature for real, with the
//     secrets of the keys it knows (awstwin.VerifySigV4), and refuses in the body shape each
//     service uses (see refuseSigV4).
//   - A self-managed cluster with the security plugin authenticates HTTP basic auth against its
//     internal users and answers 401 with a Basic challenge otherwise.
type Auth struct {
	// Region is the Region a signature must be scoped to (collections and domains).
	Region string
	// Secrets returns the secret access key of an access key id the endpoint accepts; nil
	// accepts none. On AWS that is IAM's business; the lab knows its own key pairs.
	Secrets func(accessKeyID string) (secret string, ok bool)
	// Users are the basic-auth users of a self-managed cluster: name to password.
	Users map[string]string
}

// signingService is the SigV4 service name a flavour's data plane checks.
func (c *Cluster) signingService() string {
	if c.serverless() {
		return "aoss"
	}
	return "es"
}

// authenticate checks r (whose body has been read) against Options.Auth and returns the
// refusal to send, or nil to serve the request.
func (c *Cluster) authenticate(r *http.Request, body []byte) *response {
	a := c.opts.Auth
	if a == nil {
		return nil
	}
	if c.opts.Mode == ModeSelfManaged {
		return c.checkBasic(r)
	}
	return c.checkSigV4(r, body)
}

// checkBasic is the security plugin's HTTP basic authenticator: a missing or wrong user
// answers 401 "Unauthorized" with a Basic challenge
// (https://docs.opensearch.org/latest/security/authentication-backends/basic-authc/).
func (c *Cluster) checkBasic(r *http.Request) *response {
	user, pass, ok := r.BasicAuth()
	if ok {
		if want, known := c.opts.Auth.Users[user]; known && subtle.ConstantTimeCompare([]byte(want), []byte(pass)) == 1 {
			return nil
		}
	}
	c.log.Debug("request refused: basic auth", "method", r.Method, "path", r.URL.Path, "user", user)
	return &response{status: http.StatusUnauthorized, body: []byte("Unauthorized"), ctype: "text/plain; charset=UTF-8",
		header: http.Header{"Www-Authenticate": {`Basic realm="OpenSearch Security"`}}}
}

// checkSigV4 verifies the request's signature and its scope, as the AWS front end of a domain or
// a collection does before routing.
func (c *Cluster) checkSigV4(r *http.Request, body []byte) *response {
	secrets := c.opts.Auth.Secrets
	if secrets == nil {
		secrets = func(string) (string, bool) { return "", false }
	}
	id, err := awstwin.VerifySigV4(r, body, secrets, c.now())
	want := c.signingService()
	var refusal sigV4Refusal
	var se *awstwin.SigV4Error
	switch {
	case errors.As(err, &se) && se.Problem == awstwin.SigV4Missing:
		refusal = sigV4Refusal{anonymous: true}
	case errors.As(err, &se) && se.Problem == awstwin.SigV4Malformed:
		refusal = sigV4Refusal{message: "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and a valid X-Amz-Date: " + se.Detail}
	case err == nil && id.Service != want:
		refusal = sigV4Refusal{message: fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", want)}
	case err == nil && c.opts.Auth.Region != "" && id.Region != c.opts.Auth.Region:
		refusal = sigV4Refusal{message: fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", id.Region)}
	case errors.As(err, &se) && se.Problem == awstwin.SigV4UnknownKey:
		refusal = sigV4Refusal{message: "The security token included in the request is invalid."}
	case err != nil:
		refusal = sigV4Refusal{message: err.Error()}
	case c.serverless() && r.Header.Get("X-Amz-Content-Sha256") == "":
		// AOSS needs the payload hash header on every request, even one without a body
		// ("Signing HTTP requests with other clients",
		// https://docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-clients.html);
		// without it the signature is refused (aws/aws-sdk-php#3145).
		refusal = sigV4Refusal{message: "x-amz-content-sha256 header is required"}
	default:
		return nil
	}
	c.log.Debug("request refused: SigV4", "method", r.Method, "path", r.URL.Path, "service", id.Service, "region", id.Region,
		"reason", refusal.message, "anonymous", refusal.anonymous)
	return c.refuseSigV4(r, refusal)
}

type sigV4Refusal struct {
	anonymous bool
	message   string
}

// refuseSigV4 answers a refused signature the way each service does, always HTTP 403:
//
//   - OpenSearch Serverless answers every authentication or authorization failure with the same
//     body, {"status":403,"request-id":"…","error":{"reason":"403 Forbidden","type":"Forbidden"}},
//     and an x-request-id header (as reported in opensearch-project/opensearch-js#1063 and
//     opensearch-project/logstash-output-opensearch#228); it does not say why.
//   - An OpenSearch Service domain names the reason: an unsigned request is the anonymous user,
//     {"Message":"User: anonymous is not authorized to perform: es:ESHttpGet"}
//     (recursecenter/blaggregator#167); a signature for another service gets {"message":
//     "Credential should be scoped to correct service: 'es'. "} (elasticsearch-dump#661); a wrong
//     secret gets {"message":"The request signature we calculated does not match the signature
//     you provided. …"} (mailerlite/laravel-elasticsearch#62).
func (c *Cluster) refuseSigV4(r *http.Request, f sigV4Refusal) *response {
	if c.serverless() {
		id := requestID()
		return &response{status: http.StatusForbidden, ctype: "application/json",
			body:   mustJSON(jobj{{"status", 403}, {"request-id", id}, {"error", jobj{{"reason", "403 Forbidden"}, {"type", "Forbidden"}}}}),
			header: http.Header{"X-Request-Id": {id}}}
	}
	if f.anonymous {
		return &response{status: http.StatusForbidden, ctype: "application/json",
			body: mustJSON(jobj{{"Message", "User: anonymous is not authorized to perform: " + esHTTPAction(r.Method)}})}
	}
	return &response{status: http.StatusForbidden, ctype: "application/json", body: mustJSON(jobj{{"message", f.message}})}
}

// esHTTPAction is the IAM action of a data-plane request to a domain (es:ESHttpGet, …).
func esHTTPAction(method string) string {
	m := strings.ToLower(method)
	if m == "" {
		m = "get"
	}
	return "es:ESHttp" + strings.ToUpper(m[:1]) + m[1:]
}

// zoneAPIRefused is what Amazon OpenSearch Service answers a customer who calls an operation it
// does not offer on a domain: 401 with {"Message":"Your request: '<path>' is not allowed."}
// (the shape reported in Esri/geoportal-server-catalog#597). Weighted shard routing and zonal
// decommission are not in "Supported operations in Amazon OpenSearch Service"
// (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/supported-operations.html):
// with Multi-AZ with Standby the service moves zones itself
// (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html).
func zoneAPIRefused(path string) response {
	return response{status: http.StatusUnauthorized, ctype: "application/json",
		body: mustJSON(jobj{{"Message", fmt.Sprintf("Your request: '%s' is not allowed.", path)}})}
}

// isZoneAPI reports whether segs address weighted shard routing or zonal decommission.
func isZoneAPI(segs []string) bool {
	return len(segs) >= 3 && segs[0] == "_cluster" &&
		((segs[1] == "routing" && segs[2] == "awareness") || (segs[1] == "decommission" && segs[2] == "awareness"))
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
