package triggers

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // SNS SignatureVersion 1 is SHA1withRSA by definition
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// SNS message types.
const (
	snsNotification             = "Notification"
	snsSubscriptionConfirmation = "SubscriptionConfirmation"
	snsUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// SNSMessage is the JSON body SNS posts to an HTTP(S) subscriber (and puts in an SQS queue
// without raw message delivery).
type SNSMessage struct {
	Type      string `json:"Type"`
	MessageID string `json:"MessageId"`
	Token     string `json:"Token,omitempty"`
	TopicArn  string `json:"TopicArn"`
	// Subject is signed only when present, so its presence is kept.
	Subject          *string `json:"Subject,omitempty"`
	Message          string  `json:"Message"`
	Timestamp        string  `json:"Timestamp"`
	SignatureVersion string  `json:"SignatureVersion"`
	Signature        string  `json:"Signature"`
	SigningCertURL   string  `json:"SigningCertURL"`
	SubscribeURL     string  `json:"SubscribeURL,omitempty"`
	UnsubscribeURL   string  `json:"UnsubscribeURL,omitempty"`
}

// StringToSign is the text SNS signs: name\nvalue\n pairs of the type's fields in byte order.
func (m *SNSMessage) StringToSign() (string, error) {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	switch m.Type {
	case snsNotification:
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		if m.Subject != nil {
			add("Subject", *m.Subject)
		}
		add("Timestamp", m.Timestamp)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	case snsSubscriptionConfirmation, snsUnsubscribeConfirmation:
		add("Message", m.Message)
		add("MessageId", m.MessageID)
		add("SubscribeURL", m.SubscribeURL)
		add("Timestamp", m.Timestamp)
		add("Token", m.Token)
		add("TopicArn", m.TopicArn)
		add("Type", m.Type)
	default:
		return "", fmt.Errorf("unknown SNS message type %q", m.Type)
	}
	return b.String(), nil
}

var (
	// ErrUnverified marks an SNS message whose signature or certificate is not acceptable.
	ErrUnverified = errors.New("SNS message not verified")
	// errCertUnavailable marks a certificate that could not be fetched: SNS should retry.
	errCertUnavailable = errors.New("SNS signing certificate unavailable")
)

// The hosts AWS serves SNS signing certificates from, as AWS's own SDK checks them.
var (
	snsHostRe     = regexp.MustCompile(`^sns\.[a-z0-9][a-z0-9-]*[a-z0-9]\.amazonaws\.com$`)
	snsHostCNRe   = regexp.MustCompile(`^sns\.cn-[a-z0-9][a-z0-9-]*[a-z0-9]\.amazonaws\.com\.cn$`)
	snsCertPathRe = regexp.MustCompile(`^/SimpleNotificationService-[0-9a-f]+\.pem$`)
)

// IsSNSHost reports whether host (a host name, with no port) is an SNS endpoint of AWS.
func IsSNSHost(host string) bool { return snsHostRe.MatchString(host) || snsHostCNRe.MatchString(host) }

// maxCertSize bounds a fetched certificate; AWS's SDK caps them at 10 KB.
const maxCertSize = 16 << 10

// Verifier checks SNS message signatures. Certificates are fetched over https from SNS hosts of
// AWS only, with a short timeout, and cached by URL. A certificate is used only when its chain
// verifies against the system's roots as well: the host rule says where it came from, the chain
// says who issued it, so a certificate planted on an SNS host (or served by a host that merely
// matches the rule) is refused unless a public CA issued it.
//
// SNS serves the leaf certificate alone, without the intermediate that issued it (a chain check
// that only uses the file fails: see github.com/robbiet480/go.sns issue 8), so the intermediates
// are fetched the way browsers do, from the leaf's Authority Information Access URL, and only
// from Amazon Trust Services' hosts (*.amazontrust.com, where AWS publishes its CAs:
// https://www.amazontrust.com/repository/). They are trusted for nothing by themselves: the
// chain through them must still end at a system root.
type Verifier struct {
	client *http.Client
	now    func() time.Time
	// allowHost decides which URL hosts (host[:port]) may serve certificates and subscription
	// confirmations. Production always uses the AWS rule; only this package's tests replace it.
	allowHost func(hostport string) bool
	// roots are the CAs a certificate's chain must end at; nil means the system's roots.
	// Production always uses the system's; only tests give their own CA.
	roots *x509.CertPool
	// allowIssuerURL decides which Authority Information Access URLs intermediates may be
	// fetched from; production allows Amazon Trust Services' hosts only.
	allowIssuerURL func(u *url.URL) bool

	mu      sync.Mutex
	certs   map[string]*x509.Certificate
	issuers map[string]*x509.Certificate
}

// NewVerifier returns a Verifier; a nil client means one with a 5 s timeout.
func NewVerifier(client *http.Client) *Verifier {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &Verifier{client: client, now: time.Now, allowHost: awsHost, allowIssuerURL: amazonTrustURL,
		certs: map[string]*x509.Certificate{}, issuers: map[string]*x509.Certificate{}}
}

// amazonTrustURL accepts http(s) URLs on Amazon Trust Services' hosts, where the intermediates of
// AWS's certificates are published (the AIA URLs of SNS certificates name
// crt.r2m0N.amazontrust.com).
func amazonTrustURL(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.User == nil && u.Port() == "" &&
		(u.Hostname() == "amazontrust.com" || strings.HasSuffix(u.Hostname(), ".amazontrust.com"))
}

func awsHost(hostport string) bool {
	// A port is refused: AWS serves certificates on 443 and names no port.
	return !strings.Contains(hostport, ":") && IsSNSHost(hostport)
}

// checkURL accepts only https URLs on an allowed host, without user info.
func (v *Verifier) checkURL(raw, what string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", ErrUnverified, what, raw, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s %q is not https", ErrUnverified, what, raw)
	}
	if u.User != nil || !v.allowHost(u.Host) {
		return nil, fmt.Errorf("%w: %s %q is not on an SNS host of AWS (sns.<region>.amazonaws.com)", ErrUnverified, what, raw)
	}
	return u, nil
}

// Verify checks m's signature with the certificate at its SigningCertURL.
func (v *Verifier) Verify(ctx context.Context, m *SNSMessage) error {
	var hash crypto.Hash
	switch m.SignatureVersion {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return fmt.Errorf("%w: SignatureVersion %q (want 1 or 2)", ErrUnverified, m.SignatureVersion)
	}
	u, err := v.checkURL(m.SigningCertURL, "SigningCertURL")
	if err != nil {
		return err
	}
	if !snsCertPathRe.MatchString(u.Path) || u.RawQuery != "" {
		return fmt.Errorf("%w: SigningCertURL %q is not an SNS certificate path", ErrUnverified, m.SigningCertURL)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("%w: Signature is not base64", ErrUnverified)
	}
	text, err := m.StringToSign()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnverified, err)
	}
	cert, err := v.cert(ctx, u.String())
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: certificate key is not RSA", ErrUnverified)
	}
	var digest []byte
	if hash == crypto.SHA1 {
		d := sha1.Sum([]byte(text)) //nolint:gosec // see import
		digest = d[:]
	} else {
		d := sha256.Sum256([]byte(text))
		digest = d[:]
	}
	if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
		return fmt.Errorf("%w: bad signature (SignatureVersion %s)", ErrUnverified, m.SignatureVersion)
	}
	return nil
}

func (v *Verifier) cert(ctx context.Context, certURL string) (*x509.Certificate, error) {
	now := v.now()
	v.mu.Lock()
	c, ok := v.certs[certURL]
	v.mu.Unlock()
	if ok && now.Before(c.NotAfter) {
		return c, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, certURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnverified, err)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: fetch %s: %v", errCertUnavailable, certURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: fetch %s: HTTP %d", errCertUnavailable, certURL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCertSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", errCertUnavailable, certURL, err)
	}
	if len(body) > maxCertSize {
		return nil, fmt.Errorf("%w: certificate at %s is larger than %d bytes", ErrUnverified, certURL, maxCertSize)
	}
	block, rest := pem.Decode(body)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrUnverified, certURL)
	}
	c, err = x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: parse certificate %s: %v", ErrUnverified, certURL, err)
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, fmt.Errorf("%w: certificate %s is not valid now (valid %s to %s)", ErrUnverified, certURL,
			c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
	}
	if err := v.verifyChain(ctx, c, rest, now); err != nil {
		return nil, fmt.Errorf("%w: certificate %s: %w", ErrUnverified, certURL, err)
	}
	v.mu.Lock()
	if len(v.certs) >= 64 {
		clear(v.certs) // AWS rotates few certificates; a full cache means something odd, start over
	}
	v.certs[certURL] = c
	v.mu.Unlock()
	return c, nil
}

// maxChain bounds the intermediates fetched for one certificate.
const maxChain = 3

// verifyChain checks that c chains to the verifier's roots, through the certificates that came
// after it in its file and the intermediates its AIA URLs name.
func (v *Verifier) verifyChain(ctx context.Context, c *x509.Certificate, rest []byte, now time.Time) error {
	inter := x509.NewCertPool()
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if ic, err := x509.ParseCertificate(b.Bytes); err == nil && b.Type == "CERTIFICATE" {
			inter.AddCert(ic)
		}
	}
	opts := x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	last := c
	var err error
	for range maxChain + 1 {
		if _, err = c.Verify(opts); err == nil {
			return nil
		}
		var ua x509.UnknownAuthorityError
		if !errors.As(err, &ua) || len(last.IssuingCertificateURL) == 0 {
			break
		}
		issuer, ferr := v.issuer(ctx, last.IssuingCertificateURL)
		if ferr != nil {
			return fmt.Errorf("chain not verified against the system's roots (%v): %w", err, ferr)
		}
		inter.AddCert(issuer)
		last = issuer
	}
	return fmt.Errorf("chain not verified against the system's roots: %w", err)
}

// issuer fetches an intermediate from the first allowed AIA URL (DER, or PEM).
func (v *Verifier) issuer(ctx context.Context, urls []string) (*x509.Certificate, error) {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || !v.allowIssuerURL(u) {
			continue
		}
		v.mu.Lock()
		c, ok := v.issuers[raw]
		v.mu.Unlock()
		if ok {
			return c, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		if err != nil {
			return nil, err
		}
		resp, err := v.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch issuer %s: %w", raw, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxCertSize+1))
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(body) > maxCertSize {
			return nil, fmt.Errorf("fetch issuer %s: HTTP %d, %d bytes, %v", raw, resp.StatusCode, len(body), err)
		}
		if b, _ := pem.Decode(body); b != nil {
			body = b.Bytes
		}
		if c, err = x509.ParseCertificate(body); err != nil {
			return nil, fmt.Errorf("parse issuer %s: %w", raw, err)
		}
		v.mu.Lock()
		if len(v.issuers) >= 64 {
			clear(v.issuers)
		}
		v.issuers[raw] = c
		v.mu.Unlock()
		return c, nil
	}
	return nil, fmt.Errorf("no issuer URL on Amazon Trust Services' hosts among %q", urls)
}

// confirm confirms a subscription by visiting its SubscribeURL, which must be on an SNS host.
func (v *Verifier) confirm(ctx context.Context, m *SNSMessage) error {
	if _, err := v.checkURL(m.SubscribeURL, "SubscribeURL"); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.SubscribeURL, nil)
	if err != nil {
		return fmt.Errorf("confirm subscription: %w", err)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return fmt.Errorf("confirm subscription to %s: %w", m.TopicArn, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("confirm subscription to %s: HTTP %d", m.TopicArn, resp.StatusCode)
	}
	return nil
}

// SNSHandlerOptions configure the POST /alarms/sns endpoint.
type SNSHandlerOptions struct {
	// Intake handles the alarms; required.
	Intake *Intake
	// Topics are the accepted topic ARNs, in addition to the rules files' sns_topics. Messages
	// from other topics are refused (403) and their subscriptions never confirmed.
	Topics []string
	// Verifier checks signatures; nil means NewVerifier(nil).
	Verifier *Verifier
	Logger   *slog.Logger
}

// SNSHandler serves POST /alarms/sns: SNS notifications of CloudWatch alarms over HTTP(S).
type SNSHandler struct {
	intake *Intake
	topics []string
	v      *Verifier
	log    *slog.Logger
}

// NewSNSHandler returns the handler.
func NewSNSHandler(opts SNSHandlerOptions) (*SNSHandler, error) {
	if opts.Intake == nil {
		return nil, errors.New("triggers: SNS handler needs an intake")
	}
	if opts.Verifier == nil {
		opts.Verifier = NewVerifier(nil)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	topics := append(slices.Clone(opts.Topics), opts.Intake.Rules().SNSTopics()...)
	slices.Sort(topics)
	return &SNSHandler{intake: opts.Intake, topics: slices.Compact(topics), v: opts.Verifier, log: opts.Logger}, nil
}

// MaxSNSBody bounds a POST /alarms/sns body: SNS messages are at most 256 KiB, plus the envelope.
const MaxSNSBody = 512 << 10

func (h *SNSHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxSNSBody+1))
	if err != nil || len(body) > MaxSNSBody {
		h.intake.Invalid(fmt.Errorf("SNS body unreadable or over %d bytes: %v", MaxSNSBody, err), "remote", r.RemoteAddr)
		http.Error(w, "body unreadable or too large", http.StatusRequestEntityTooLarge)
		return
	}
	var m SNSMessage
	if err := json.Unmarshal(body, &m); err != nil {
		h.intake.Invalid(fmt.Errorf("%w: SNS body: %v", ErrMalformed, err), "remote", r.RemoteAddr)
		http.Error(w, "body is not an SNS message", http.StatusBadRequest)
		return
	}
	if hdr := r.Header.Get("x-amz-sns-message-type"); m.Type == "" || (hdr != "" && hdr != m.Type) {
		h.intake.Invalid(fmt.Errorf("%w: SNS message type %q (header %q)", ErrMalformed, m.Type, hdr), "remote", r.RemoteAddr)
		http.Error(w, "missing or inconsistent SNS message type", http.StatusBadRequest)
		return
	}
	if !slices.Contains(h.topics, m.TopicArn) {
		// Checked before the signature: an unknown topic costs no certificate fetch.
		h.intake.Invalid(fmt.Errorf("%w: topic %q is not configured", ErrUnverified, m.TopicArn), "remote", r.RemoteAddr, "type", m.Type)
		http.Error(w, "topic not accepted", http.StatusForbidden)
		return
	}
	if err := h.v.Verify(r.Context(), &m); err != nil {
		h.intake.Invalid(err, "remote", r.RemoteAddr, "topic", m.TopicArn, "type", m.Type)
		if errors.Is(err, errCertUnavailable) {
			http.Error(w, "signing certificate unavailable; retry", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "signature not verified", http.StatusForbidden)
		return
	}
	switch m.Type {
	case snsSubscriptionConfirmation:
		if err := h.v.confirm(r.Context(), &m); err != nil {
			h.log.Error("alarm intake: SNS subscription not confirmed", "topic", m.TopicArn, "err", err)
			http.Error(w, "subscription not confirmed", http.StatusBadGateway)
			return
		}
		h.log.Info("alarm intake: SNS subscription confirmed", "topic", m.TopicArn)
		w.WriteHeader(http.StatusOK)
	case snsUnsubscribeConfirmation:
		h.log.Warn("alarm intake: SNS subscription removed", "topic", m.TopicArn)
		w.WriteHeader(http.StatusOK)
	case snsNotification:
		h.notification(w, r, &m)
	default:
		h.intake.Invalid(fmt.Errorf("%w: SNS message type %q", ErrMalformed, m.Type))
		http.Error(w, "unknown SNS message type", http.StatusBadRequest)
	}
}

// RequestSource names the SNS topic that sent a POST /alarms/sns body ("sns topic <ARN>"), for
// the intake's per-source rate limit, or "" when the body is not a message of an accepted topic
// whose signature verifies (the limit then falls back to the remote address). Only a verified
// message may spend a topic's budget. The certificate is cached, so the handler's own check of
// the same message costs one more signature check and no fetch.
func (h *SNSHandler) RequestSource(ctx context.Context, body []byte) string {
	var m SNSMessage
	if json.Unmarshal(body, &m) != nil || !slices.Contains(h.topics, m.TopicArn) {
		return ""
	}
	if h.v.Verify(ctx, &m) != nil {
		return ""
	}
	return "sns topic " + m.TopicArn
}

func (h *SNSHandler) notification(w http.ResponseWriter, r *http.Request, m *SNSMessage) {
	a, err := ParseSNSAlarm([]byte(m.Message))
	switch {
	case errors.Is(err, ErrNotAlarm):
		h.intake.NotAlarm(err)
		w.WriteHeader(http.StatusOK)
		return
	case err != nil:
		h.intake.Invalid(err, "topic", m.TopicArn, "message_id", m.MessageID)
		http.Error(w, "message is not a CloudWatch alarm notification", http.StatusBadRequest)
		return
	}
	if a.EventID == "" {
		a.EventID = m.MessageID
	}
	// The message's Timestamp (when SNS published it; signed) bounds the event's age too: a
	// message SNS kept retrying, or one replayed, is stale when either time is too old.
	published, _ := time.Parse(time.RFC3339Nano, m.Timestamp)
	decisions, err := h.intake.handle(r.Context(), a, published)
	if err != nil {
		// A 5xx makes SNS deliver again, by which time Temporal may be back.
		http.Error(w, "alarm not handled; retry", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"decisions": decisions})
}
