package awstwin

import (
	"context"
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // SQS message checksums are MD5 by definition
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SQS is served over awsJson1_0 (X-Amz-Target AmazonSQS.<Op>, what current SDKs use) and
// awsQuery (older SDKs and the AWS CLI v1). The service is awsQueryCompatible: JSON errors
// carry the awsQuery code (AWS.SimpleQueueService.NonExistentQueue, ...) in
// X-Amzn-Query-Error. The lab delivers alarm events through a queue; the engine long-polls it,
// so ReceiveMessage implements long polling, visibility timeouts and receipt handles for real.
// Visibility and delays run on the wall clock, since they gate real waits.

const sqsNS = "http://queue.amazonaws.com/doc/2012-11-05/"

func sqsService() *service {
	s := &service{
		name:            ServiceSQS,
		namespace:       "com.amazonaws.sqs",
		xmlns:           sqsNS,
		target:          "AmazonSQS",
		queryCompatible: true,
		defaultProto:    protoJSON10,
		ops: map[string]func(*call) error{
			"CreateQueue":        sqsCreateQueue,
			"GetQueueUrl":        sqsGetQueueURL,
			"SendMessage":        sqsSendMessage,
			"ReceiveMessage":     sqsReceiveMessage,
			"DeleteMessage":      sqsDeleteMessage,
			"DeleteMessageBatch": sqsDeleteMessageBatch,
		},
		throttle: apiError{Status: http.StatusForbidden, Code: "RequestThrottled", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalFailure", Receiver: true},
	}
	s.resolve = func(c *call) *apiError { return resolveRPC(c, protoJSON10, protoQuery) }
	return s
}

type sqsState struct {
	mu     sync.Mutex
	queues map[string]*sqsQueue
	key    []byte // signs receipt handles; see receiptHandle
}

// sqsQueue keeps its messages in send order in a doubly linked list, and indexes them by ID, so
// that a delete (one per handled alarm event, 10,000 in a storm) is O(1) whatever the backlog.
type sqsQueue struct {
	name       string
	attrs      map[string]string
	head, tail *sqsMessage
	byID       map[string]*sqsMessage
	deleted    int64         // messages deleted since the queue was created
	wake       chan struct{} // closed (and replaced) when a message is sent
	waiters    int           // receives blocked in a long poll; lets tests order a send after one
}

type sqsMessage struct {
	prev, next   *sqsMessage
	id           string
	body         string
	attrs        map[string]sqsAttrValue
	sent         time.Time
	visibleAt    time.Time
	receiveCount int
	firstReceive time.Time
}

type sqsAttrValue struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

func newSQSState() *sqsState {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails on supported platforms
	return &sqsState{queues: map[string]*sqsQueue{}, key: key}
}

func (q *sqsQueue) push(m *sqsMessage) {
	m.prev = q.tail
	if q.tail != nil {
		q.tail.next = m
	} else {
		q.head = m
	}
	q.tail = m
	q.byID[m.id] = m
}

func (q *sqsQueue) remove(m *sqsMessage) {
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		q.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		q.tail = m.prev
	}
	m.prev, m.next = nil, nil
	delete(q.byID, m.id)
	q.deleted++
}

var (
	queueNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	sqsDefaultAttrs  = map[string]string{
		"VisibilityTimeout":             "30",
		"DelaySeconds":                  "0",
		"MessageRetentionPeriod":        "345600",
		"MaximumMessageSize":            "262144",
		"ReceiveMessageWaitTimeSeconds": "0",
	}
)

func sqsError(status int, code, query, msg string) *apiError {
	return &apiError{Status: status, Code: code, Query: query, Message: msg}
}

func sqsInvalid(msg string) *apiError {
	return sqsError(http.StatusBadRequest, "InvalidParameterValue", "InvalidParameterValue", msg)
}

func sqsNoQueue() *apiError {
	return sqsError(http.StatusBadRequest, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
}

// createQueue creates or, with identical attributes, returns an existing queue.
func (s *sqsState) createQueue(name string, attrs map[string]string) *apiError {
	if strings.HasSuffix(name, ".fifo") {
		return sqsInvalid("FIFO queues are not supported by the lab twin.")
	}
	if !queueNamePattern.MatchString(name) {
		return sqsInvalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	merged := map[string]string{}
	for k, v := range sqsDefaultAttrs {
		merged[k] = v
	}
	for k, v := range attrs {
		if _, known := sqsDefaultAttrs[k]; known {
			if _, err := strconv.Atoi(v); err != nil {
				return sqsError(http.StatusBadRequest, "InvalidAttributeValue", "InvalidAttributeValue", fmt.Sprintf("Invalid value for the parameter %s.", k))
			}
		}
		merged[k] = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.queues[name]; ok {
		for k, v := range attrs {
			if q.attrs[k] != v {
				return sqsError(http.StatusBadRequest, "QueueNameExists", "QueueAlreadyExists",
					fmt.Sprintf("A queue already exists with the same name and a different value for attribute %s", k))
			}
		}
		return nil
	}
	s.queues[name] = &sqsQueue{name: name, attrs: merged, byID: map[string]*sqsMessage{}, wake: make(chan struct{})}
	return nil
}

// CreateQueue creates a standard queue with default attributes (no-op if it exists).
func (t *Twin) CreateQueue(region, name string) error {
	if ae := t.region(region).sqs.createQueue(name, nil); ae != nil {
		return fmt.Errorf("create queue %s in %s: %w", name, region, ae)
	}
	return nil
}

// SendMessage enqueues a message, as the lab does for alarm events, and returns its ID.
func (t *Twin) SendMessage(region, queue, body string) (string, error) {
	id, ae := t.region(region).sqs.send(queue, body, nil, 0)
	if ae != nil {
		return "", fmt.Errorf("send message to %s in %s: %w", queue, region, ae)
	}
	return id, nil
}

func (s *sqsState) send(queue, body string, attrs map[string]sqsAttrValue, delay time.Duration) (string, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queue]
	if q == nil {
		return "", sqsNoQueue()
	}
	if d, _ := strconv.Atoi(q.attrs["DelaySeconds"]); delay == 0 && d > 0 {
		delay = time.Duration(d) * time.Second
	}
	now := time.Now()
	m := &sqsMessage{id: newRequestID(), body: body, attrs: attrs, sent: now, visibleAt: now.Add(delay)}
	q.push(m)
	close(q.wake)
	q.wake = make(chan struct{})
	return m.id, nil
}

func (c *call) queueURL(name string) string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s/%s/%s", scheme, c.r.Host, c.t.opts.AccountID, name)
}

// queueName takes the queue from a QueueUrl (any host: clients may hold the URL of another
// endpoint for the same Region) or, for awsQuery, from the request path.
func (c *call) queueName(queueURL string) (string, *apiError) {
	p := queueURL
	if p == "" && c.proto == protoQuery {
		p = c.r.URL.Path
	}
	if p == "" {
		return "", sqsError(http.StatusBadRequest, "MissingParameter", "MissingParameter", "The request must contain the parameter QueueUrl.")
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] != c.t.opts.AccountID {
		return "", sqsNoQueue()
	}
	return parts[len(parts)-1], nil
}

// sqsInput decodes input, first reshaping awsQuery's flattened names (Attribute.1.Name,
// MessageAttributeName.1) into the JSON protocol's members.
func sqsInput(c *call, in any) error {
	if c.proto == protoQuery {
		tree := formTree(c.form)
		renames := map[string]string{"AttributeName": "AttributeNames", "MessageAttributeName": "MessageAttributeNames",
			"MessageSystemAttributeName": "MessageSystemAttributeNames", "DeleteMessageBatchRequestEntry": "Entries"}
		for from, to := range renames {
			if v, ok := tree[from]; ok {
				tree[to] = v
			}
		}
		for from, to := range map[string]string{"Attribute": "Attributes", "MessageAttribute": "MessageAttributes"} {
			l, ok := tree[from].([]any)
			if !ok {
				continue
			}
			m := map[string]any{}
			for _, e := range l {
				if entry, ok := e.(map[string]any); ok {
					if name, ok := entry["Name"].(string); ok {
						m[name] = entry["Value"]
					}
				}
			}
			tree[to] = m
		}
		if err := assign(in, tree); err != nil {
			return sqsError(http.StatusBadRequest, "MalformedQueryString", "MalformedQueryString", err.Error())
		}
		return nil
	}
	return c.decodeInput(in)
}

func sqsCreateQueue(c *call) error {
	var in struct {
		QueueName  string
		Attributes map[string]string
	}
	if err := sqsInput(c, &in); err != nil {
		return err
	}
	if ae := c.rs.sqs.createQueue(in.QueueName, in.Attributes); ae != nil {
		return ae
	}
	return c.reply(obj("QueueUrl", c.queueURL(in.QueueName)))
}

func sqsGetQueueURL(c *call) error {
	var in struct{ QueueName string }
	if err := sqsInput(c, &in); err != nil {
		return err
	}
	c.rs.sqs.mu.Lock()
	_, ok := c.rs.sqs.queues[in.QueueName]
	c.rs.sqs.mu.Unlock()
	if !ok {
		return sqsNoQueue()
	}
	return c.reply(obj("QueueUrl", c.queueURL(in.QueueName)))
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b) //nolint:gosec // protocol-defined
	return hex.EncodeToString(sum[:])
}

// attributesMD5 is SQS's MD5OfMessageAttributes: for each attribute in name order, the
// length-prefixed name, data type, a transport byte (1 string/number, 2 binary) and the
// length-prefixed value.
func attributesMD5(attrs map[string]sqsAttrValue) string {
	var buf []byte
	lp := func(b []byte) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	for _, name := range sortedKeys(attrs) {
		a := attrs[name]
		lp([]byte(name))
		lp([]byte(a.DataType))
		if strings.HasPrefix(a.DataType, "Binary") {
			buf = append(buf, 2)
			lp(a.BinaryValue)
		} else {
			buf = append(buf, 1)
			lp([]byte(a.StringValue))
		}
	}
	return md5Hex(buf)
}

func sqsSendMessage(c *call) error {
	var in struct {
		QueueURL          string `aws:"QueueUrl"`
		MessageBody       string
		DelaySeconds      int
		MessageAttributes map[string]sqsAttrValue
	}
	if err := sqsInput(c, &in); err != nil {
		return err
	}
	name, ae := c.queueName(in.QueueURL)
	if ae != nil {
		return ae
	}
	if in.MessageBody == "" {
		return sqsError(http.StatusBadRequest, "MissingParameter", "MissingParameter", "The request must contain the parameter MessageBody.")
	}
	if len(in.MessageBody) > 262144 {
		return sqsInvalid("One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.")
	}
	if in.DelaySeconds < 0 || in.DelaySeconds > 900 {
		return sqsInvalid("Value for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.")
	}
	for n, a := range in.MessageAttributes {
		if a.DataType == "" {
			return sqsInvalid(fmt.Sprintf("The message attribute '%s' must contain non-empty message attribute type.", n))
		}
	}
	id, ae := c.rs.sqs.send(name, in.MessageBody, in.MessageAttributes, time.Duration(in.DelaySeconds)*time.Second)
	if ae != nil {
		return ae
	}
	var attrMD5 any
	if len(in.MessageAttributes) > 0 {
		attrMD5 = attributesMD5(in.MessageAttributes)
	}
	return c.reply(obj("MD5OfMessageBody", md5Hex([]byte(in.MessageBody)), "MD5OfMessageAttributes", attrMD5, "MessageId", id))
}

func sqsReceiveMessage(c *call) error {
	var in struct {
		QueueURL                    string `aws:"QueueUrl"`
		MaxNumberOfMessages         int
		WaitTimeSeconds             *int
		VisibilityTimeout           *int
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
	}
	if err := sqsInput(c, &in); err != nil {
		return err
	}
	name, ae := c.queueName(in.QueueURL)
	if ae != nil {
		return ae
	}
	if in.MaxNumberOfMessages == 0 {
		in.MaxNumberOfMessages = 1
	}
	if in.MaxNumberOfMessages < 1 || in.MaxNumberOfMessages > 10 {
		return sqsInvalid(fmt.Sprintf("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", in.MaxNumberOfMessages))
	}
	s := c.rs.sqs
	s.mu.Lock()
	q := s.queues[name]
	var wait, vis int
	if q != nil {
		wait, _ = strconv.Atoi(q.attrs["ReceiveMessageWaitTimeSeconds"])
		vis, _ = strconv.Atoi(q.attrs["VisibilityTimeout"])
	}
	s.mu.Unlock()
	if q == nil {
		return sqsNoQueue()
	}
	if in.WaitTimeSeconds != nil {
		wait = *in.WaitTimeSeconds
	}
	if in.VisibilityTimeout != nil {
		vis = *in.VisibilityTimeout
	}
	if wait < 0 || wait > 20 {
		return sqsInvalid(fmt.Sprintf("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", wait))
	}
	if vis < 0 || vis > 43200 {
		return sqsInvalid(fmt.Sprintf("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", vis))
	}
	got := c.t.receive(c.ctx, s, q, in.MaxNumberOfMessages, time.Duration(vis)*time.Second, time.Duration(wait)*time.Second)

	sysNames := slices.Concat(in.AttributeNames, in.MessageSystemAttributeNames)
	msgs := list{items: []any{}, flat: true}
	for _, r := range got {
		sys := map[string]any{}
		all := slices.Contains(sysNames, "All")
		add := func(k, v string) {
			if all || slices.Contains(sysNames, k) {
				sys[k] = v
			}
		}
		add("SenderId", c.t.opts.AccountID)
		add("SentTimestamp", strconv.FormatInt(r.msg.sent.UnixMilli(), 10))
		add("ApproximateReceiveCount", strconv.Itoa(r.receiveCount))
		add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(r.firstReceive.UnixMilli(), 10))
		selected := map[string]sqsAttrValue{}
		for n, a := range r.msg.attrs {
			if attrRequested(in.MessageAttributeNames, n) {
				selected[n] = a
			}
		}
		var msgAttrs, attrMD5 any
		if len(selected) > 0 {
			m := map[string]any{}
			for n, a := range selected {
				var bin any
				if a.BinaryValue != nil {
					bin = a.BinaryValue
				}
				m[n] = obj("StringValue", optional(a.StringValue), "BinaryValue", bin, "DataType", a.DataType)
			}
			msgAttrs = strMap{entries: m, flat: true}
		}
		if len(r.msg.attrs) > 0 {
			attrMD5 = attributesMD5(r.msg.attrs)
		}
		var sysAttrs any
		if len(sys) > 0 {
			sysAttrs = strMap{entries: sys, flat: true}
		}
		msgs.items = append(msgs.items, obj(
			"MessageId", r.msg.id,
			"ReceiptHandle", r.handle,
			"MD5OfBody", md5Hex([]byte(r.msg.body)),
			"Body", r.msg.body,
			"Attributes|Attribute", sysAttrs,
			"MD5OfMessageAttributes", attrMD5,
			"MessageAttributes|MessageAttribute", msgAttrs,
		))
	}
	return c.reply(obj("Messages|Message", msgs))
}

func attrRequested(names []string, n string) bool {
	for _, want := range names {
		if want == "All" || want == ".*" || want == n {
			return true
		}
		if p, ok := strings.CutSuffix(want, ".*"); ok && strings.HasPrefix(n, p+".") {
			return true
		}
	}
	return false
}

type sqsReceipt struct {
	msg          sqsMessage
	handle       string
	receiveCount int
	firstReceive time.Time
}

// receive takes up to max visible messages, waiting up to wait for one to arrive or become
// visible. It wakes on sends, on the next visibility expiry, on the client going away and on
// the Twin closing.
func (t *Twin) receive(ctx context.Context, s *sqsState, q *sqsQueue, max int, vis, wait time.Duration) []sqsReceipt {
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		now := time.Now()
		var out []sqsReceipt
		var next time.Time
		for m := q.head; m != nil; m = m.next {
			if m.visibleAt.After(now) {
				if next.IsZero() || m.visibleAt.Before(next) {
					next = m.visibleAt
				}
				continue
			}
			if len(out) == max {
				break
			}
			m.receiveCount++
			if m.firstReceive.IsZero() {
				m.firstReceive = now
			}
			m.visibleAt = now.Add(vis)
			h := s.receiptHandle(q.name, m.id)
			out = append(out, sqsReceipt{msg: *m, handle: h, receiveCount: m.receiveCount, firstReceive: m.firstReceive})
		}
		wake := q.wake
		done := len(out) > 0 || !now.Before(deadline)
		if !done {
			q.waiters++
		}
		s.mu.Unlock()
		if done {
			return out
		}
		until := deadline
		if !next.IsZero() && next.Before(until) {
			until = next
		}
		timer := time.NewTimer(time.Until(until))
		stop := false
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
			stop = true
		case <-t.done:
			stop = true
		}
		timer.Stop()
		s.mu.Lock()
		q.waiters--
		s.mu.Unlock()
		if stop {
			return nil
		}
	}
}

// Receipt handles are opaque tokens, as SQS's are: the message ID, a nonce (each receive gets
// a new handle) and a MAC over queue, ID and nonce under the Region's key. A delete checks the
// MAC and looks the message up by ID, so it keeps no state per handle and costs O(1): memory
// does not grow with receives, and a handle from another queue or made up is refused.
const (
	handleNonceLen = 8
	handleMACLen   = 16
)

func (s *sqsState) receiptHandle(queue, id string) string {
	payload := make([]byte, 0, len(id)+1+handleNonceLen+handleMACLen)
	payload = append(payload, id...)
	payload = append(payload, ':')
	var nonce [handleNonceLen]byte
	_, _ = rand.Read(nonce[:]) // crypto/rand.Read never fails on supported platforms
	payload = append(payload, nonce[:]...)
	return base64.StdEncoding.EncodeToString(append(payload, s.handleMAC(queue, payload)...))
}

func (s *sqsState) handleMAC(queue string, payload []byte) []byte {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(queue))
	mac.Write([]byte{0})
	mac.Write(payload)
	return mac.Sum(nil)[:handleMACLen]
}

// handleMessageID returns the ID of the message a handle was issued for on queue.
func (s *sqsState) handleMessageID(queue, handle string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(handle)
	n := len(raw) - handleMACLen
	if err != nil || n < 2+handleNonceLen || raw[n-handleNonceLen-1] != ':' {
		return "", false
	}
	if !hmac.Equal(raw[n:], s.handleMAC(queue, raw[:n])) {
		return "", false
	}
	return string(raw[:n-handleNonceLen-1]), true
}

// deleteMessage deletes the message a handle was issued for; s.mu must be held. SQS documents
// that a delete with an older handle than the latest receive's succeeds but "might not" delete;
// the twin always deletes, so a consumer whose visibility timeout ran out still acknowledges
// the event it handled. A delete of an already deleted message succeeds, as in SQS.
func (s *sqsState) deleteMessage(q *sqsQueue, handle string) *apiError {
	id, ok := s.handleMessageID(q.name, handle)
	if !ok {
		return sqsError(http.StatusNotFound, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid",
			fmt.Sprintf("The input receipt handle \"%s\" is not a valid receipt handle.", handle))
	}
	if m := q.byID[id]; m != nil {
		q.remove(m)
	}
	return nil
}

func sqsDeleteMessage(c *call) error {
	var in struct {
		QueueURL      string `aws:"QueueUrl"`
		ReceiptHandle string
	}
	if err := sqsInput(c, &in); err != nil {
		return err
	}
	name, ae := c.queueName(in.QueueURL)
	if ae != nil {
		return ae
	}
	s := c.rs.sqs
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return sqsNoQueue()
	}
	if ae := s.deleteMessage(q, in.ReceiptHandle); ae != nil {
		return ae
	}
	return c.reply(obj())
}

var batchEntryIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// sqsDeleteMessageBatch deletes up to ten messages in one call. A malformed request fails as a
// whole; otherwise each entry succeeds or fails on its own, reported by its Id in Successful or
// Failed, and the call itself returns 200.
func sqsDeleteMessageBatch(c *call) error {
	var in struct {
		QueueURL string `aws:"QueueUrl"`
		Entries  []struct {
			ID            string `aws:"Id"`
			ReceiptHandle string
		}
	}
	if err := sqsInput(c, &in); err != nil {
		return err
	}
	name, ae := c.queueName(in.QueueURL)
	if ae != nil {
		return ae
	}
	switch {
	case len(in.Entries) == 0:
		return sqsError(http.StatusBadRequest, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest",
			"There should be at least one DeleteMessageBatchRequestEntry in the request.")
	case len(in.Entries) > 10:
		return sqsError(http.StatusBadRequest, "TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
			fmt.Sprintf("Maximum number of entries per request are 10. You have sent %d.", len(in.Entries)))
	}
	seen := map[string]bool{}
	for _, e := range in.Entries {
		if !batchEntryIDPattern.MatchString(e.ID) {
			return sqsError(http.StatusBadRequest, "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId",
				"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[e.ID] {
			return sqsError(http.StatusBadRequest, "BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
				fmt.Sprintf("Id %s repeated.", e.ID))
		}
		seen[e.ID] = true
	}
	s := c.rs.sqs
	s.mu.Lock()
	q := s.queues[name]
	ok := list{items: []any{}, flat: true}
	failed := list{items: []any{}, flat: true}
	if q != nil {
		for _, e := range in.Entries {
			if ae := s.deleteMessage(q, e.ReceiptHandle); ae != nil {
				failed.items = append(failed.items, obj("Id", e.ID, "SenderFault", true, "Code", ae.Code, "Message", ae.Message))
				continue
			}
			ok.items = append(ok.items, obj("Id", e.ID))
		}
	}
	s.mu.Unlock()
	if q == nil {
		return sqsNoQueue()
	}
	return c.reply(obj("Successful|DeleteMessageBatchResultEntry", ok, "Failed|BatchResultErrorEntry", failed))
}

// DeletedMessages is how many messages have been deleted from a queue (each once, whether by
// DeleteMessage or DeleteMessageBatch): the count of acknowledged events, which a benchmark
// cannot take from the operation names its fault hook sees once deletes are batched.
func (t *Twin) DeletedMessages(region, queue string) int64 {
	s := t.region(region).sqs
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[queue]; q != nil {
		return q.deleted
	}
	return 0
}
