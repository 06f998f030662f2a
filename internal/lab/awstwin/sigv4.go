package awstwin

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// sigV4 is what the twin learns from a request's Signature Version 4 authentication. The twin
// accepts any key pair (it cannot know the secret), so it checks only that the signature is
// well formed and scoped: a client that signs for the wrong Region or service fails here as it
// would against AWS, which is the mistake worth catching in a DR lab.
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
