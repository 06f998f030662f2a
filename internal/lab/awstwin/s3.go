package awstwin

import (
	"bufio"
	"bytes"
	"crypto/md5"  //nolint:gosec // S3 ETags and Content-MD5 are MD5 by definition
	"crypto/sha1" //nolint:gosec // x-amz-checksum-sha1 is SHA-1 by definition
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// S3 speaks its own flavour of restXml: bucket in the path (path style, what SDKs use for an
// IP endpoint) or in the Host (virtual-hosted style), bare <Error> documents, SlowDown 503 for
// throttling. The lab needs it for OSI's dead-letter queue: the OSI twin writes DLQ objects
// through [Twin.PutObject] and the engine lists them with ListObjectsV2.

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

func s3Service() *service {
	return &service{
		name:         ServiceS3,
		namespace:    "com.amazonaws.s3",
		xmlns:        s3NS,
		defaultProto: protoS3,
		resolve:      resolveS3,
		ops: map[string]func(*call) error{
			"ListBuckets":       s3ListBuckets,
			"CreateBucket":      s3CreateBucket,
			"HeadBucket":        s3HeadBucket,
			"GetBucketLocation": s3GetBucketLocation,
			"ListObjectsV2":     s3ListObjectsV2,
			"PutObject":         s3PutObject,
			"GetObject":         s3GetObject,
			"HeadObject":        s3GetObject,
			"DeleteObject":      s3DeleteObject,
		},
		throttle: apiError{Status: http.StatusServiceUnavailable, Code: "SlowDown", Message: "Please reduce your request rate."},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalError", Receiver: true},
	}
}

type s3State struct {
	mu      sync.Mutex
	buckets map[string]*s3Bucket
}

type s3Bucket struct {
	created time.Time
	objects map[string]*s3Object
}

type s3Object struct {
	body        []byte
	etag        string
	modified    time.Time
	contentType string
	checksums   map[string]string // lower-case header name → value
	meta        map[string]string // x-amz-meta-* headers
}

func newS3State() *s3State {
	return &s3State{buckets: map[string]*s3Bucket{}}
}

// s3Target is the bucket and key a request addresses.
type s3Target struct {
	bucket, key string
}

func resolveS3(c *call) *apiError {
	c.proto = protoS3
	tgt := s3Address(c)
	q := c.r.URL.Query()
	for k := range q {
		if strings.HasPrefix(k, "X-Amz-") || strings.HasPrefix(k, "x-id") {
			delete(q, k) // presigned-URL auth and the SDK's x-id operation hint are not subresources
		}
	}
	m := c.r.Method
	unsupported := func() *apiError {
		return &apiError{Status: http.StatusNotImplemented, Code: "NotImplemented",
			Message: fmt.Sprintf("A header you provided implies functionality that is not implemented (lab twin: %s %s)", m, c.r.URL.RequestURI())}
	}
	c.labels = []string{tgt.bucket, tgt.key}
	switch {
	case tgt.bucket == "" && m == http.MethodGet:
		c.op = "ListBuckets"
	case tgt.bucket == "":
		return unsupported()
	case tgt.key == "":
		switch {
		case m == http.MethodPut && len(q) == 0:
			c.op = "CreateBucket"
		case m == http.MethodHead:
			c.op = "HeadBucket"
		case m == http.MethodGet && q.Has("location"):
			c.op = "GetBucketLocation"
		case m == http.MethodGet && q.Get("list-type") == "2":
			c.op = "ListObjectsV2"
		default:
			return unsupported()
		}
	default:
		sub := slices.ContainsFunc([]string{"uploads", "uploadId", "tagging", "acl", "retention", "legal-hold", "attributes"}, q.Has)
		switch {
		case sub || c.r.Header.Get("X-Amz-Copy-Source") != "":
			return unsupported()
		case m == http.MethodPut:
			c.op = "PutObject"
		case m == http.MethodGet:
			c.op = "GetObject"
		case m == http.MethodHead:
			c.op = "HeadObject"
		case m == http.MethodDelete:
			c.op = "DeleteObject"
		default:
			return unsupported()
		}
	}
	return nil
}

// s3Address finds the bucket in the Host (virtual-hosted style, when the first label names a
// bucket here or the host looks like bucket.s3.… / bucket.localhost) or else in the path.
func s3Address(c *call) s3Target {
	host := c.r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) == nil {
		if first, rest, ok := strings.Cut(host, "."); ok {
			c.rs.s3.mu.Lock()
			_, exists := c.rs.s3.buckets[first]
			c.rs.s3.mu.Unlock()
			if exists || strings.HasPrefix(rest, "s3.") || strings.HasPrefix(rest, "s3-") || rest == "localhost" {
				return s3Target{bucket: first, key: strings.TrimPrefix(c.r.URL.Path, "/")}
			}
		}
	}
	p := strings.TrimPrefix(c.r.URL.Path, "/")
	bucket, key, _ := strings.Cut(p, "/")
	return s3Target{bucket: bucket, key: key}
}

var bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func s3NoSuchBucket(b string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "NoSuchBucket", Message: "The specified bucket does not exist", Fields: map[string]string{"BucketName": b}}
}

// createBucket enforces the global bucket namespace across the twin's Regions.
func (t *Twin) createBucket(region, name string) *apiError {
	if !bucketNamePattern.MatchString(name) || strings.Contains(name, "..") {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidBucketName", Message: "The specified bucket is not valid.", Fields: map[string]string{"BucketName": name}}
	}
	t.mu.Lock()
	regions := make([]*regionState, 0, len(t.regions))
	for _, rs := range t.regions {
		regions = append(regions, rs)
	}
	t.mu.Unlock()
	for _, rs := range regions {
		rs.s3.mu.Lock()
		_, exists := rs.s3.buckets[name]
		rs.s3.mu.Unlock()
		if exists && !(rs.name == region && region == "us-east-1") {
			return &apiError{Status: http.StatusConflict, Code: "BucketAlreadyOwnedByYou",
				Message: "Your previous request to create the named bucket succeeded and you already own it.", Fields: map[string]string{"BucketName": name}}
		}
		if exists {
			return nil // us-east-1 answers 200 to re-creating your own bucket there
		}
	}
	rs := t.region(region)
	rs.s3.mu.Lock()
	defer rs.s3.mu.Unlock()
	rs.s3.buckets[name] = &s3Bucket{created: t.now(), objects: map[string]*s3Object{}}
	return nil
}

// CreateBucket creates a bucket in a Region.
func (t *Twin) CreateBucket(region, name string) error {
	if ae := t.createBucket(region, name); ae != nil {
		return fmt.Errorf("create bucket %s in %s: %w", name, region, ae)
	}
	return nil
}

// PutObject stores an object, as the OSI twin does for DLQ files. The bucket must exist.
func (t *Twin) PutObject(region, bucket, key string, body []byte) error {
	rs := t.region(region)
	obj := newS3Object(body, "application/octet-stream", t.now())
	rs.s3.mu.Lock()
	defer rs.s3.mu.Unlock()
	b := rs.s3.buckets[bucket]
	if b == nil {
		return fmt.Errorf("put s3://%s/%s in %s: bucket %w", bucket, key, region, ErrNotFound)
	}
	b.objects[key] = obj
	return nil
}

// GetObject returns an object's body.
func (t *Twin) GetObject(region, bucket, key string) ([]byte, error) {
	rs := t.region(region)
	rs.s3.mu.Lock()
	defer rs.s3.mu.Unlock()
	b := rs.s3.buckets[bucket]
	if b == nil || b.objects[key] == nil {
		return nil, fmt.Errorf("get s3://%s/%s in %s: %w", bucket, key, region, ErrNotFound)
	}
	return slices.Clone(b.objects[key].body), nil
}

func newS3Object(body []byte, contentType string, now time.Time) *s3Object {
	sum := md5.Sum(body) //nolint:gosec // ETag
	return &s3Object{
		body: body, etag: `"` + hex.EncodeToString(sum[:]) + `"`, modified: now, contentType: contentType,
		checksums: map[string]string{"x-amz-checksum-crc32": checksumOf("crc32", body)},
		meta:      map[string]string{},
	}
}

// checksumOf computes an x-amz-checksum-* value; "" for algorithms the twin does not verify
// (CRC64NVME), whose client-supplied values are stored as given.
func checksumOf(alg string, body []byte) string {
	var h hash.Hash
	switch alg {
	case "crc32":
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], crc32.ChecksumIEEE(body))
		return base64.StdEncoding.EncodeToString(b[:])
	case "crc32c":
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
		return base64.StdEncoding.EncodeToString(b[:])
	case "sha1":
		h = sha1.New() //nolint:gosec // protocol-defined
	case "sha256":
		h = sha256.New()
	default:
		return ""
	}
	h.Write(body)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func (c *call) bucket(name string) (*s3Bucket, *apiError) {
	c.rs.s3.mu.Lock()
	defer c.rs.s3.mu.Unlock()
	b := c.rs.s3.buckets[name]
	if b == nil {
		return nil, s3NoSuchBucket(name)
	}
	return b, nil
}

func s3ListBuckets(c *call) error {
	type xmlBucket struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion"`
	}
	var out struct {
		XMLName xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
		Buckets []xmlBucket `xml:"Buckets>Bucket"`
		Owner   struct {
			ID string `xml:"ID"`
		} `xml:"Owner"`
	}
	out.Owner.ID = c.t.opts.AccountID
	c.rs.s3.mu.Lock()
	for _, name := range sortedKeys(c.rs.s3.buckets) {
		out.Buckets = append(out.Buckets, xmlBucket{Name: name, CreationDate: formatISO(c.rs.s3.buckets[name].created), BucketRegion: c.rs.name})
	}
	c.rs.s3.mu.Unlock()
	return c.replyXML(out)
}

func s3CreateBucket(c *call) error {
	name := c.labels[0]
	var cfg struct {
		LocationConstraint string `xml:"LocationConstraint"`
	}
	if len(bytes.TrimSpace(c.body)) > 0 {
		if err := xml.Unmarshal(c.body, &cfg); err != nil {
			return &apiError{Status: http.StatusBadRequest, Code: "MalformedXML", Message: "The XML you provided was not well-formed or did not validate against our published schema."}
		}
	}
	switch {
	case c.rs.name == "us-east-1" && cfg.LocationConstraint != "":
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidLocationConstraint", Message: "The specified location-constraint is not valid"}
	case c.rs.name != "us-east-1" && cfg.LocationConstraint == "":
		return &apiError{Status: http.StatusBadRequest, Code: "IllegalLocationConstraintException",
			Message: "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."}
	case c.rs.name != "us-east-1" && cfg.LocationConstraint != c.rs.name:
		return &apiError{Status: http.StatusBadRequest, Code: "IllegalLocationConstraintException",
			Message: fmt.Sprintf("The %s location constraint is incompatible for the region specific endpoint this request was sent to.", cfg.LocationConstraint)}
	}
	if ae := c.t.createBucket(c.rs.name, name); ae != nil {
		return ae
	}
	c.w.Header().Set("Location", "/"+name)
	c.writeRaw(http.StatusOK, "", nil)
	return nil
}

func s3HeadBucket(c *call) error {
	if _, ae := c.bucket(c.labels[0]); ae != nil {
		return ae
	}
	c.w.Header().Set("X-Amz-Bucket-Region", c.rs.name)
	c.writeRaw(http.StatusOK, "", nil)
	return nil
}

func s3GetBucketLocation(c *call) error {
	if _, ae := c.bucket(c.labels[0]); ae != nil {
		return ae
	}
	loc := c.rs.name
	if loc == "us-east-1" {
		loc = "" // S3 reports the original Region as an empty constraint
	}
	return c.replyXML(struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
		Value   string   `xml:",chardata"`
	}{Value: loc})
}

func s3ListObjectsV2(c *call) error {
	b, ae := c.bucket(c.labels[0])
	if ae != nil {
		return ae
	}
	q := c.r.URL.Query()
	prefix, delim, startAfter, token := q.Get("prefix"), q.Get("delimiter"), q.Get("start-after"), q.Get("continuation-token")
	encodeURL := q.Get("encoding-type") == "url"
	if et := q.Get("encoding-type"); et != "" && et != "url" {
		return &apiError{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "Invalid Encoding Method specified in Request"}
	}
	maxKeys := 1000
	if s := q.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "Provided max-keys not an integer or within integer range"}
		}
		maxKeys = min(n, 1000)
	}
	marker := startAfter
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return &apiError{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "The continuation token provided is incorrect"}
		}
		marker = string(raw)
	}
	c.rs.s3.mu.Lock()
	keys := sortedKeys(b.objects)
	objs := make(map[string]s3Object, len(keys))
	for _, k := range keys {
		objs[k] = *b.objects[k]
	}
	c.rs.s3.mu.Unlock()

	type xmlContent struct {
		Key          string `xml:"Key"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int    `xml:"Size"`
		StorageClass string `xml:"StorageClass"`
	}
	type xmlPrefix struct {
		Prefix string `xml:"Prefix"`
	}
	var out struct {
		XMLName               xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name                  string       `xml:"Name"`
		Prefix                string       `xml:"Prefix"`
		Delimiter             string       `xml:"Delimiter,omitempty"`
		MaxKeys               int          `xml:"MaxKeys"`
		KeyCount              int          `xml:"KeyCount"`
		IsTruncated           bool         `xml:"IsTruncated"`
		Contents              []xmlContent `xml:"Contents"`
		CommonPrefixes        []xmlPrefix  `xml:"CommonPrefixes"`
		ContinuationToken     string       `xml:"ContinuationToken,omitempty"`
		NextContinuationToken string       `xml:"NextContinuationToken,omitempty"`
		StartAfter            string       `xml:"StartAfter,omitempty"`
		EncodingType          string       `xml:"EncodingType,omitempty"`
	}
	enc := func(s string) string {
		if encodeURL {
			return url.QueryEscape(s)
		}
		return s
	}
	out.Name, out.Prefix, out.Delimiter, out.MaxKeys = c.labels[0], enc(prefix), enc(delim), maxKeys
	out.ContinuationToken, out.StartAfter = token, enc(startAfter)
	if encodeURL {
		out.EncodingType = "url"
	}
	last := ""
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || k <= marker {
			continue
		}
		// A marker that is a common prefix stands for every key under it.
		if delim != "" && strings.HasSuffix(marker, delim) && strings.HasPrefix(k, marker) {
			continue
		}
		item := k
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				item = k[:len(prefix)+i+len(delim)]
			}
		}
		if item == last {
			continue
		}
		if out.KeyCount == maxKeys {
			out.IsTruncated = true
			out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
			break
		}
		last = item
		out.KeyCount++
		if item != k {
			out.CommonPrefixes = append(out.CommonPrefixes, xmlPrefix{enc(item)})
			continue
		}
		o := objs[k]
		out.Contents = append(out.Contents, xmlContent{Key: enc(k), LastModified: formatISO(o.modified), ETag: o.etag, Size: len(o.body), StorageClass: "STANDARD"})
	}
	return c.replyXML(out)
}

func s3PutObject(c *call) error {
	bucket, key := c.labels[0], c.labels[1]
	body, trailers, err := s3Payload(c.r, c.body)
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "IncompleteBody", Message: err.Error()}
	}
	if md := c.r.Header.Get("Content-Md5"); md != "" {
		sum := md5.Sum(body) //nolint:gosec // Content-MD5
		if md != base64.StdEncoding.EncodeToString(sum[:]) {
			return &apiError{Status: http.StatusBadRequest, Code: "BadDigest", Message: "The Content-MD5 you specified did not match what we received."}
		}
	}
	ct := c.r.Header.Get("Content-Type")
	if ct == "" {
		ct = "binary/octet-stream"
	}
	obj := newS3Object(body, ct, c.t.now())
	for name, vals := range c.r.Header {
		lname := strings.ToLower(name)
		if strings.HasPrefix(lname, "x-amz-meta-") {
			obj.meta[lname] = vals[0]
		}
	}
	sent := map[string]string{}
	for name, vals := range c.r.Header {
		if lname := strings.ToLower(name); strings.HasPrefix(lname, "x-amz-checksum-") && lname != "x-amz-checksum-algorithm" && lname != "x-amz-checksum-type" {
			sent[lname] = vals[0]
		}
	}
	for k, v := range trailers {
		if strings.HasPrefix(k, "x-amz-checksum-") {
			sent[k] = v
		}
	}
	for name, v := range sent {
		alg := strings.TrimPrefix(name, "x-amz-checksum-")
		if want := checksumOf(alg, body); want != "" && want != v {
			return &apiError{Status: http.StatusBadRequest, Code: "BadDigest", Message: fmt.Sprintf("The %s you specified did not match the calculated checksum.", strings.ToUpper(alg))}
		}
		obj.checksums[name] = v
	}
	c.rs.s3.mu.Lock()
	b := c.rs.s3.buckets[bucket]
	if b != nil {
		b.objects[key] = obj
	}
	c.rs.s3.mu.Unlock()
	if b == nil {
		return s3NoSuchBucket(bucket)
	}
	c.w.Header().Set("ETag", obj.etag)
	for name, v := range sent {
		c.w.Header().Set(name, v)
	}
	c.writeRaw(http.StatusOK, "", nil)
	return nil
}

// s3Payload returns the object bytes of a PutObject body, decoding aws-chunked framing (used
// by SDKs for streaming uploads and trailing checksums) and returning its trailers.
func s3Payload(r *http.Request, body []byte) ([]byte, map[string]string, error) {
	sha := r.Header.Get("X-Amz-Content-Sha256")
	if !strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") && !strings.HasPrefix(sha, "STREAMING-") {
		return body, nil, nil
	}
	br := bufio.NewReader(bytes.NewReader(body))
	var out []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("aws-chunked body: read chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil || size < 0 {
			return nil, nil, fmt.Errorf("aws-chunked body: bad chunk size %q", sizeHex)
		}
		if size == 0 {
			break
		}
		chunk := make([]byte, size)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, nil, fmt.Errorf("aws-chunked body: short chunk: %w", err)
		}
		out = append(out, chunk...)
		if _, err := br.ReadString('\n'); err != nil {
			return nil, nil, fmt.Errorf("aws-chunked body: chunk terminator: %w", err)
		}
	}
	trailers := map[string]string{}
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, ":"); ok {
			trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if err != nil || line == "" {
			break
		}
	}
	if dl := r.Header.Get("X-Amz-Decoded-Content-Length"); dl != "" && dl != strconv.Itoa(len(out)) {
		return nil, nil, fmt.Errorf("aws-chunked body has %d bytes, x-amz-decoded-content-length says %s", len(out), dl)
	}
	return out, trailers, nil
}

func s3GetObject(c *call) error {
	bucket, key := c.labels[0], c.labels[1]
	c.rs.s3.mu.Lock()
	b := c.rs.s3.buckets[bucket]
	var o *s3Object
	if b != nil {
		o = b.objects[key]
	}
	c.rs.s3.mu.Unlock()
	switch {
	case b == nil:
		return s3NoSuchBucket(bucket)
	case o == nil:
		return &apiError{Status: http.StatusNotFound, Code: "NoSuchKey", Message: "The specified key does not exist.", Fields: map[string]string{"Key": key}}
	}
	h := c.w.Header()
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	for k, v := range o.meta {
		h.Set(k, v)
	}
	body, status := o.body, http.StatusOK
	if rg := c.r.Header.Get("Range"); rg != "" {
		start, end, ok := parseRange(rg, len(o.body))
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", len(o.body)))
			return &apiError{Status: http.StatusRequestedRangeNotSatisfiable, Code: "InvalidRange", Message: "The requested range is not satisfiable"}
		}
		body, status = o.body[start:end+1], http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(o.body)))
	} else if strings.EqualFold(c.r.Header.Get("X-Amz-Checksum-Mode"), "ENABLED") {
		for k, v := range o.checksums {
			h.Set(k, v)
		}
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	if c.r.Method == http.MethodHead {
		h.Set("Content-Type", o.contentType)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("X-Amz-Request-Id", c.reqID)
		c.status = status
		c.w.WriteHeader(status)
		return nil
	}
	c.writeRaw(status, o.contentType, body)
	return nil
}

// parseRange handles the single-range forms SDK downloaders send: bytes=a-b, bytes=a-,
// bytes=-n.
func parseRange(h string, size int) (int, int, bool) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(spec, "-")
	switch {
	case a == "":
		n, err := strconv.Atoi(b)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	default:
		start, err := strconv.Atoi(a)
		if err != nil || start >= size {
			return 0, 0, false
		}
		end := size - 1
		if b != "" {
			if e, err := strconv.Atoi(b); err == nil && e < end {
				end = e
			}
		}
		return start, end, start <= end
	}
}

func s3DeleteObject(c *call) error {
	b, ae := c.bucket(c.labels[0])
	if ae != nil {
		return ae
	}
	c.rs.s3.mu.Lock()
	delete(b.objects, c.labels[1])
	c.rs.s3.mu.Unlock()
	c.writeRaw(http.StatusNoContent, "", nil)
	return nil
}
