package awstwin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigV4 is what the twin learns from a request's Signature Version 4 authentication. The
// control-plane endpoints accept any key pair, so they check only that the signature is well
// formed and scoped: a client that signs for the wrong Region or service fails here as it would
// against AWS, which is the mistake worth catching in a DR lab. Endpoints that know their
// callers' secrets (the lab's OpenSearch endpoints) verify the signature itself with
// VerifySigV4.
type sigV4 struct {
	AccessKeyID string
	Date        string // yyyymmdd from the credential scope
	Region      string
	Service     string
}

var (
	errNoAuth       = errors.New("request is not signed")
	hex64           = regexp.MustCompile(`^[0-9a-f]{64}$`)
	scopeDate       = regexp.MustCompile(`^[0-9]{8}$`)
	amzDateLayout   = "20060102T150405Z"
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	credentialParts = 5
)

// parseSigV4 reads the Authorization header or, for presigned URLs, the X-Amz-* query
// parameters. It returns errNoAuth when neither is present, and a descriptive error when the
// signature is malformed.
func parseSigV4(r *http.Request) (sigV4, error) {
	var cred, signedHeaders, signature, amzDate string
	if h := r.Header.Get("Authorization"); h != "" {
		alg, rest, _ := strings.Cut(h, " ")
		if alg != sigV4Algorithm {
			return sigV4{}, fmt.Errorf("unsupported authorization algorithm %q", alg)
		}
		for _, part := range strings.Split(rest, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				return sigV4{}, fmt.Errorf("authorization header component %q is not key=value", part)
			}
			switch k {
			case "Credential":
				cred = v
			case "SignedHeaders":
				signedHeaders = v
			case "Signature":
				signature = v
			}
		}
		amzDate = r.Header.Get("X-Amz-Date")
	} else if q := r.URL.Query(); q.Get("X-Amz-Algorithm") != "" {
		if alg := q.Get("X-Amz-Algorithm"); alg != sigV4Algorithm {
			return sigV4{}, fmt.Errorf("unsupported X-Amz-Algorithm %q", alg)
		}
		cred, signedHeaders, signature, amzDate = q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
	} else {
		return sigV4{}, errNoAuth
	}

	if cred == "" || signedHeaders == "" || signature == "" {
		return sigV4{}, errors.New("authorization must contain Credential, SignedHeaders and Signature")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != credentialParts || parts[4] != "aws4_request" || parts[0] == "" {
		return sigV4{}, fmt.Errorf("credential %q is not AKID/yyyymmdd/region/service/aws4_request", cred)
	}
	s := sigV4{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	if !scopeDate.MatchString(s.Date) || s.Region == "" || s.Service == "" {
		return sigV4{}, fmt.Errorf("credential scope %q is malformed", cred)
	}
	if !hex64.MatchString(signature) {
		return sigV4{}, errors.New("signature must be 64 lowercase hex digits")
	}
	headers := strings.Split(signedHeaders, ";")
	if !slices.Contains(headers, "host") {
		return sigV4{}, errors.New("SignedHeaders must include host")
	}
	for _, h := range headers {
		if h != strings.ToLower(h) {
			return sigV4{}, fmt.Errorf("signed header %q is not lowercase", h)
		}
		if h != "host" && r.Header.Values(h) == nil {
			return sigV4{}, fmt.Errorf("signed header %q is missing from the request", h)
		}
	}
	if amzDate == "" {
		return sigV4{}, errors.New("X-Amz-Date is required")
	}
	t, err := time.Parse(amzDateLayout, amzDate)
	if err != nil {
		return sigV4{}, fmt.Errorf("X-Amz-Date %q is not yyyymmddThhmmssZ", amzDate)
	}
	if t.Format("20060102") != s.Date {
		return sigV4{}, fmt.Errorf("credential date %s does not match X-Amz-Date %s", s.Date, amzDate)
	}
	return s, nil
}

// SigV4Problem says why VerifySigV4 refused a request; endpoints map it to the error body their
// service answers with.
type SigV4Problem int

// Problems VerifySigV4 reports.
const (
	// SigV4Missing: no Authorization header and no presigned query.
	SigV4Missing SigV4Problem = iota + 1
	// SigV4Malformed: a signature that cannot be parsed.
	SigV4Malformed
	// SigV4UnknownKey: the access key id is not one the endpoint knows.
	SigV4UnknownKey
	// SigV4Expired: X-Amz-Date is more than 15 minutes away from the endpoint's clock.
	SigV4Expired
	// SigV4Mismatch: the signature recomputed with the key's secret differs.
	SigV4Mismatch
	// SigV4PayloadMismatch: X-Amz-Content-Sha256 is not the hash of the body sent.
	SigV4PayloadMismatch
)

// SigV4Error is a refused signature.
type SigV4Error struct {
	Problem SigV4Problem
	Detail  string
}

func (e *SigV4Error) Error() string { return e.Detail }

// SigV4Identity is what a verified signature proves: the key that signed, and the Region and
// service it signed for (the caller checks that those are its own).
type SigV4Identity struct {
	AccessKeyID string
	Region      string
	Service     string
}

// sigV4MaxSkew is how far X-Amz-Date may be from the server's clock before AWS answers
// "Signature expired": a signed request is valid for 15 minutes around its date
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html, "Date").
const sigV4MaxSkew = 15 * time.Minute

// VerifySigV4 authenticates r the way AWS does: it parses the signature (header or presigned
// query), looks up the secret of its access key with secretOf, rebuilds the canonical request
// from what r carries (method, path, query, the signed headers, the payload hash), derives the
// signing key for the credential scope and compares the signature it computes with the one sent
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). body is r's
// body, already read. The identity it returns names the scope's Region and service; checking
// that they are the endpoint's own is the caller's business, because services answer a wrong
// scope in their own words.
//
// The path is canonicalized as AWS does for every service but S3: the path as sent, each
// character outside the unreserved set percent-encoded once more. The payload hash is the
// X-Amz-Content-Sha256 header when present (UNSIGNED-PAYLOAD is taken as is; a hex hash must
// match the body), else the SHA-256 of the body.
func VerifySigV4(r *http.Request, body []byte, secretOf func(accessKeyID string) (string, bool), now time.Time) (SigV4Identity, error) {
	s, err := parseSigV4(r)
	switch {
	case errors.Is(err, errNoAuth):
		return SigV4Identity{}, &SigV4Error{Problem: SigV4Missing, Detail: "request is not signed"}
	case err != nil:
		return SigV4Identity{}, &SigV4Error{Problem: SigV4Malformed, Detail: err.Error()}
	}
	id := SigV4Identity{AccessKeyID: s.AccessKeyID, Region: s.Region, Service: s.Service}
	secret, ok := secretOf(s.AccessKeyID)
	if !ok {
		return id, &SigV4Error{Problem: SigV4UnknownKey, Detail: fmt.Sprintf("access key %s is not known to this endpoint", s.AccessKeyID)}
	}
	presigned := r.Header.Get("Authorization") == ""
	q := r.URL.Query()
	var signedHeaders, signature, amzDate string
	if presigned {
		signedHeaders, signature, amzDate = q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")
		q.Del("X-Amz-Signature")
	} else {
		for _, part := range strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), sigV4Algorithm+" "), ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "SignedHeaders":
				signedHeaders = v
			case "Signature":
				signature = v
			}
		}
		amzDate = r.Header.Get("X-Amz-Date")
	}
	at, _ := time.Parse(amzDateLayout, amzDate) // parseSigV4 checked it
	if d := now.Sub(at); d > sigV4MaxSkew || d < -sigV4MaxSkew {
		return id, &SigV4Error{Problem: SigV4Expired, Detail: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-sigV4MaxSkew).UTC().Format(amzDateLayout), now.UTC().Format(amzDateLayout))}
	}

	payload := sha256Hex(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h != "UNSIGNED-PAYLOAD" && h != payload {
			return id, &SigV4Error{Problem: SigV4PayloadMismatch, Detail: "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
		payload = h
	} else if presigned {
		payload = "UNSIGNED-PAYLOAD"
	}

	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	canon.WriteString(canonicalURI(r) + "\n")
	canon.WriteString(canonicalQuery(q) + "\n")
	for _, h := range strings.Split(signedHeaders, ";") {
		canon.WriteString(h + ":" + canonicalHeaderValue(r, h) + "\n")
	}
	canon.WriteString("\n" + signedHeaders + "\n" + payload)

	scope := s.Date + "/" + s.Region + "/" + s.Service + "/aws4_request"
	toSign := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canon.String()))
	key := hmacSHA256([]byte("AWS4"+secret), s.Date)
	key = hmacSHA256(key, s.Region)
	key = hmacSHA256(key, s.Service)
	key = hmacSHA256(key, "aws4_request")
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return id, &SigV4Error{Problem: SigV4Mismatch, Detail: "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
	return id, nil
}

// canonicalURI is the path exactly as the client sent it, percent-encoded once more (every
// service but S3 double-encodes: create-signed-request.html, "CanonicalURI").
func canonicalURI(r *http.Request) string {
	p := r.URL.EscapedPath()
	if r.RequestURI != "" && !strings.HasPrefix(r.RequestURI, "*") {
		if raw, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(raw, "/") {
			p = raw // the bytes on the wire, which the client signed
		}
	}
	if p == "" {
		p = "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery encodes each name and value, then sorts the pairs (the specification sorts
// after encoding).
func canonicalQuery(q url.Values) string {
	pairs := make([]string, 0, len(q))
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k, true)+"="+uriEncode(v, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// canonicalHeaderValue joins a header's values with commas after trimming them and collapsing
// inner runs of spaces. Go's server moves Host out of the header map and may drop
// Content-Length, so both are rebuilt from the request.
func canonicalHeaderValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		vals = []string{r.Host}
	case "content-length":
		vals = r.Header.Values(name)
		if len(vals) == 0 {
			vals = []string{strconv.FormatInt(max(r.ContentLength, 0), 10)}
		}
	default:
		vals = r.Header.Values(name)
	}
	for i, v := range vals {
		vals[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(vals, ",")
}

// uriEncode percent-encodes every byte outside A-Z a-z 0-9 - _ . ~ with uppercase hex; '/' is
// kept unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
