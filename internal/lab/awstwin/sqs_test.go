package awstwin

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func (t *Twin) queueWaiters(region, queue string) int {
	s := t.region(region).sqs
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queues[queue].waiters
}

func (t *Twin) queueDepth(region, queue string) int {
	s := t.region(region).sqs
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queues[queue].byID)
}

func TestSQSThroughSDK(t *testing.T) {
	lab := startLab(t, Options{})
	ctx := context.Background()
	client := sqs.NewFromConfig(sdkConfig(lab.urls[west], west))
	if err := lab.twin.CreateQueue(west, "dr-alarm-events"); err != nil {
		t.Fatal(err)
	}

	gq, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("dr-alarm-events")})
	if err != nil || aws.ToString(gq.QueueUrl) != lab.urls[west]+"/123456789012/dr-alarm-events" {
		t.Fatalf("GetQueueUrl = %+v, %v", gq, err)
	}
	queueURL := gq.QueueUrl
	_, err = client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	var dne *sqstypes.QueueDoesNotExist
	if !errors.As(err, &dne) || apiCode(t, err) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("GetQueueUrl(missing) error = %v, want QueueDoesNotExist with the awsQuery code", err)
	}
	cq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("scratch"), Attributes: map[string]string{"VisibilityTimeout": "0"}})
	if err != nil || !strings.HasSuffix(aws.ToString(cq.QueueUrl), "/123456789012/scratch") {
		t.Fatalf("CreateQueue = %+v, %v", cq, err)
	}
	_, err = client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("scratch"), Attributes: map[string]string{"VisibilityTimeout": "9"}})
	var exists *sqstypes.QueueNameExists
	if !errors.As(err, &exists) {
		t.Fatalf("CreateQueue(different attributes) error = %v, want QueueNameExists", err)
	}

	// Long poll: the receive is parked in the twin before the lab sends the alarm event.
	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL, WaitTimeSeconds: 10,
			MaxNumberOfMessages: 10, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		done <- result{out, err}
	}()
	waitFor(t, "the receive to long-poll", func() bool { return lab.twin.queueWaiters(west, "dr-alarm-events") == 1 })
	event := `{"version":"0","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch","detail":{"alarmName":"production-replication-lag","state":{"value":"ALARM"}}}`
	id, err := lab.twin.SendMessage(west, "dr-alarm-events", event)
	if err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.out.Messages) != 1 {
		t.Fatalf("long-poll ReceiveMessage = %+v, %v", r.out, r.err)
	}
	m := r.out.Messages[0]
	// The SDK has already checked MD5OfBody against the body.
	if aws.ToString(m.Body) != event || aws.ToString(m.MessageId) != id || m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" {
		t.Fatalf("message = %+v", m)
	}

	// The receive used the queue's default 30 s visibility timeout: the message is in flight.
	hidden, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL})
	if err != nil || len(hidden.Messages) != 0 {
		t.Fatalf("receive of an in-flight message = %+v, %v", hidden, err)
	}
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queueURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}

	// On a queue whose visibility timeout is 0, a received message is visible again at once:
	// the next receive gets it with a new receipt handle and a higher receive count, and the
	// explicit VisibilityTimeout of that receive hides it.
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: cq.QueueUrl, MessageBody: aws.String("redeliver me")}); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	if _, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("scratch")}); err != nil {
		t.Fatalf("CreateQueue without attributes on an existing queue should be idempotent: %v", err)
	}
	first, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl})
	if err != nil || len(first.Messages) != 1 {
		t.Fatalf("first receive = %+v, %v", first, err)
	}
	again, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl, VisibilityTimeout: 60,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil || len(again.Messages) != 1 || again.Messages[0].Attributes["ApproximateReceiveCount"] != "2" ||
		aws.ToString(again.Messages[0].ReceiptHandle) == aws.ToString(first.Messages[0].ReceiptHandle) {
		t.Fatalf("second receive = %+v, %v", again, err)
	}
	if hidden, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: cq.QueueUrl}); err != nil || len(hidden.Messages) != 0 {
		t.Fatalf("receive after VisibilityTimeout 60 = %+v, %v", hidden, err)
	}
	// Any handle the message was received with deletes it.
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: cq.QueueUrl, ReceiptHandle: first.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage(older handle): %v", err)
	}
	if n := lab.twin.queueDepth(west, "scratch"); n != 0 {
		t.Fatalf("scratch holds %d messages after delete", n)
	}
	_, err = client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: queueURL, ReceiptHandle: aws.String("bogus")})
	var rhi *sqstypes.ReceiptHandleIsInvalid
	if !errors.As(err, &rhi) {
		t.Fatalf("DeleteMessage(bogus) error = %v, want ReceiptHandleIsInvalid", err)
	}

	// SendMessage through the SDK (which checks MD5OfMessageBody) with attributes; a deleted
	// message does not come back, the new one does, with its attributes.
	sent, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: queueURL, MessageBody: aws.String("drill-7"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"runbook": {DataType: aws.String("String"), StringValue: aws.String("failover")}}})
	if err != nil || aws.ToString(sent.MD5OfMessageAttributes) == "" {
		t.Fatalf("SendMessage = %+v, %v", sent, err)
	}
	next, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
	if err != nil || len(next.Messages) != 1 || aws.ToString(next.Messages[0].Body) != "drill-7" || lab.twin.queueDepth(west, "dr-alarm-events") != 1 ||
		aws.ToString(next.Messages[0].MessageAttributes["runbook"].StringValue) != "failover" ||
		aws.ToString(next.Messages[0].MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) {
		t.Fatalf("receive after delete = %+v, %v", next, err)
	}
}

// TestSQSMessageAttributesMD5 checks the attribute digest against one computed by hand from
// SQS's documented encoding, so a regression in either the order or the framing shows.
func TestSQSMessageAttributesMD5(t *testing.T) {
	attrs := map[string]sqsAttrValue{"b": {DataType: "Binary", BinaryValue: []byte{1, 2}}, "a": {DataType: "String", StringValue: "x"}}
	var want []byte
	lp := func(s []byte) { want = append(want, 0, 0, 0, byte(len(s))); want = append(want, s...) }
	lp([]byte("a"))
	lp([]byte("String"))
	want = append(want, 1)
	lp([]byte("x"))
	lp([]byte("b"))
	lp([]byte("Binary"))
	want = append(want, 2)
	lp([]byte{1, 2})
	if got := attributesMD5(attrs); got != md5Hex(want) {
		t.Fatalf("attributesMD5 = %s, want %s", got, md5Hex(want))
	}
}

func TestSQSAWSQuery(t *testing.T) {
	lab := startLab(t, Options{})
	if err := lab.twin.CreateQueue(east, "events"); err != nil {
		t.Fatal(err)
	}
	queueURL := lab.urls[east] + "/123456789012/events"
	post := func(body []byte) (*http.Response, []byte) {
		return do(t, signedRequest(t, http.MethodPost, lab.urls[east]+"/", "sqs", east, body, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}))
	}
	resp, raw := post(form("Action", "SendMessage", "Version", "2012-11-05", "QueueUrl", queueURL, "MessageBody", "hello query",
		"MessageAttribute.1.Name", "kind", "MessageAttribute.1.Value.DataType", "String", "MessageAttribute.1.Value.StringValue", "test"))
	var sent struct {
		MD5       string `xml:"SendMessageResult>MD5OfMessageBody"`
		MessageID string `xml:"SendMessageResult>MessageId"`
	}
	if err := xml.Unmarshal(raw, &sent); err != nil || resp.StatusCode != http.StatusOK || sent.MD5 != md5Hex([]byte("hello query")) || sent.MessageID == "" {
		t.Fatalf("query SendMessage: HTTP %d %+v %v\n%s", resp.StatusCode, sent, err, raw)
	}
	resp, raw = post(form("Action", "ReceiveMessage", "Version", "2012-11-05", "QueueUrl", queueURL,
		"AttributeName.1", "All", "MessageAttributeName.1", "All"))
	var got struct {
		Messages []struct {
			Body      string   `xml:"Body"`
			AttrNames []string `xml:"Attribute>Name"`
			MsgAttr   string   `xml:"MessageAttribute>Value>StringValue"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	if err := xml.Unmarshal(raw, &got); err != nil || resp.StatusCode != http.StatusOK || len(got.Messages) != 1 ||
		got.Messages[0].Body != "hello query" || got.Messages[0].MsgAttr != "test" || len(got.Messages[0].AttrNames) != 4 {
		t.Fatalf("query ReceiveMessage: HTTP %d %+v %v\n%s", resp.StatusCode, got, err, raw)
	}
	var handle string
	if m := regexp.MustCompile(`<ReceiptHandle>([^<]+)</ReceiptHandle>`).FindSubmatch(raw); m != nil {
		handle = string(m[1])
	}
	resp, raw = post(form("Action", "DeleteMessageBatch", "Version", "2012-11-05", "QueueUrl", queueURL,
		"DeleteMessageBatchRequestEntry.1.Id", "ok", "DeleteMessageBatchRequestEntry.1.ReceiptHandle", handle,
		"DeleteMessageBatchRequestEntry.2.Id", "bad", "DeleteMessageBatchRequestEntry.2.ReceiptHandle", "bogus"))
	var batch struct {
		OK     []string `xml:"DeleteMessageBatchResult>DeleteMessageBatchResultEntry>Id"`
		Failed []struct {
			ID          string `xml:"Id"`
			Code        string `xml:"Code"`
			SenderFault bool   `xml:"SenderFault"`
		} `xml:"DeleteMessageBatchResult>BatchResultErrorEntry"`
	}
	if err := xml.Unmarshal(raw, &batch); err != nil || resp.StatusCode != http.StatusOK || len(batch.OK) != 1 || batch.OK[0] != "ok" ||
		len(batch.Failed) != 1 || batch.Failed[0].ID != "bad" || batch.Failed[0].Code != "ReceiptHandleIsInvalid" || !batch.Failed[0].SenderFault ||
		lab.twin.queueDepth(east, "events") != 0 {
		t.Fatalf("query DeleteMessageBatch: HTTP %d %+v %v\n%s", resp.StatusCode, batch, err, raw)
	}
	resp, raw = post(form("Action", "GetQueueUrl", "Version", "2012-11-05", "QueueName", "nope"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>") {
		t.Fatalf("query GetQueueUrl(missing): HTTP %d\n%s", resp.StatusCode, raw)
	}
}

// drainQueue receives and deletes every message of queue, ten at a time, one DeleteMessage per
// message or one DeleteMessageBatch per receive, and returns how many it deleted.
func drainQueue(ctx context.Context, client *sqs.Client, queueURL string, batch bool) (int, error) {
	deleted := 0
	for {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			return deleted, err
		}
		if len(out.Messages) == 0 {
			return deleted, nil
		}
		if batch {
			var entries []sqstypes.DeleteMessageBatchRequestEntry
			for i, m := range out.Messages {
				entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			}
			res, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
			if err != nil {
				return deleted, err
			}
			if len(res.Failed) > 0 {
				return deleted, fmt.Errorf("DeleteMessageBatch failed entries: %+v", res.Failed)
			}
			deleted += len(res.Successful)
			continue
		}
		for _, m := range out.Messages {
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return deleted, err
			}
			deleted++
		}
	}
}

// benchmarkDrain measures receiving and deleting a 10,000-message backlog (an alarm storm)
// through the SDK.
func benchmarkDrain(b *testing.B, batch bool) {
	const n = 10_000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		tw := New(Options{Logger: slog.New(slog.DiscardHandler)})
		srv := httptest.NewServer(tw.Handler(east))
		client := sqs.NewFromConfig(sdkConfig(srv.URL, east))
		if err := tw.CreateQueue(east, "storm"); err != nil {
			b.Fatal(err)
		}
		for range n {
			if _, err := tw.SendMessage(east, "storm", "alarm"); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		deleted, err := drainQueue(ctx, client, srv.URL+"/"+DefaultAccountID+"/storm", batch)
		b.StopTimer()
		tw.Close()
		srv.Close()
		if err != nil || deleted != n {
			b.Fatalf("deleted %d of %d: %v", deleted, n, err)
		}
	}
}

func BenchmarkSQSDrainDeleteMessage(b *testing.B) { benchmarkDrain(b, false) }

func BenchmarkSQSDrainDeleteMessageBatch(b *testing.B) { benchmarkDrain(b, true) }

// TestSQSDeleteMessageBatch drives DeleteMessageBatch through the SDK, which decodes
// Successful and Failed by entry Id and maps whole-request errors to their types.
func TestSQSDeleteMessageBatch(t *testing.T) {
	lab := startLab(t, Options{})
	ctx := context.Background()
	client := sqs.NewFromConfig(sdkConfig(lab.urls[east], east))
	for _, q := range []string{"alarms", "other"} {
		if err := lab.twin.CreateQueue(east, q); err != nil {
			t.Fatal(err)
		}
	}
	queueURL := aws.String(lab.urls[east] + "/" + DefaultAccountID + "/alarms")
	otherURL := aws.String(lab.urls[east] + "/" + DefaultAccountID + "/other")
	for i := range 4 {
		if _, err := lab.twin.SendMessage(east, "alarms", "event-"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := lab.twin.SendMessage(east, "other", "elsewhere"); err != nil {
		t.Fatal(err)
	}
	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queueURL, MaxNumberOfMessages: 10})
	if err != nil || len(got.Messages) != 4 {
		t.Fatalf("ReceiveMessage = %+v, %v", got, err)
	}
	other, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: otherURL})
	if err != nil || len(other.Messages) != 1 {
		t.Fatalf("ReceiveMessage(other) = %+v, %v", other, err)
	}
	entry := func(id string, handle *string) sqstypes.DeleteMessageBatchRequestEntry {
		return sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(id), ReceiptHandle: handle}
	}

	// Three of the four messages, a made-up handle and the handle of another queue's message:
	// the good entries succeed, the others fail on their own without failing the call.
	out, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: queueURL, Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		entry("m0", got.Messages[0].ReceiptHandle), entry("bogus", aws.String("bogus")), entry("m1", got.Messages[1].ReceiptHandle),
		entry("foreign", other.Messages[0].ReceiptHandle), entry("m2", got.Messages[2].ReceiptHandle),
	}})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	var okIDs []string
	for _, s := range out.Successful {
		okIDs = append(okIDs, aws.ToString(s.Id))
	}
	failed := map[string]sqstypes.BatchResultErrorEntry{}
	for _, f := range out.Failed {
		failed[aws.ToString(f.Id)] = f
	}
	if strings.Join(okIDs, ",") != "m0,m1,m2" || len(failed) != 2 {
		t.Fatalf("DeleteMessageBatch = successful %v, failed %+v", okIDs, out.Failed)
	}
	for _, id := range []string{"bogus", "foreign"} {
		if f := failed[id]; aws.ToString(f.Code) != "ReceiptHandleIsInvalid" || !f.SenderFault || aws.ToString(f.Message) == "" {
			t.Fatalf("failed entry %s = %+v", id, f)
		}
	}
	if d, n := lab.twin.queueDepth(east, "alarms"), lab.twin.DeletedMessages(east, "alarms"); d != 1 || n != 3 {
		t.Fatalf("after the batch: depth %d, deleted %d; want 1 and 3", d, n)
	}
	if d := lab.twin.queueDepth(east, "other"); d != 1 {
		t.Fatalf("another queue's handle deleted its message: depth %d", d)
	}

	// Deleting deleted messages again succeeds and deletes nothing more; the last message goes.
	out, err = client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: queueURL, Entries: []sqstypes.DeleteMessageBatchRequestEntry{
		entry("again", got.Messages[0].ReceiptHandle), entry("last", got.Messages[3].ReceiptHandle),
	}})
	if err != nil || len(out.Successful) != 2 || len(out.Failed) != 0 {
		t.Fatalf("repeat DeleteMessageBatch = %+v, %v", out, err)
	}
	if d, n := lab.twin.queueDepth(east, "alarms"), lab.twin.DeletedMessages(east, "alarms"); d != 0 || n != 4 {
		t.Fatalf("after the repeat: depth %d, deleted %d; want 0 and 4", d, n)
	}

	// Malformed batches fail as a whole, with the awsQuery code in X-Amzn-Query-Error.
	eleven := make([]sqstypes.DeleteMessageBatchRequestEntry, 11)
	for i := range eleven {
		eleven[i] = entry("e"+strconv.Itoa(i), aws.String("h"))
	}
	var empty *sqstypes.EmptyBatchRequest
	var tooMany *sqstypes.TooManyEntriesInBatchRequest
	var notDistinct *sqstypes.BatchEntryIdsNotDistinct
	var badID *sqstypes.InvalidBatchEntryId
	var noQueue *sqstypes.QueueDoesNotExist
	cases := []struct {
		name    string
		url     *string
		entries []sqstypes.DeleteMessageBatchRequestEntry
		target  any
		code    string
	}{
		{"empty", queueURL, []sqstypes.DeleteMessageBatchRequestEntry{}, &empty, "AWS.SimpleQueueService.EmptyBatchRequest"},
		{"eleven", queueURL, eleven, &tooMany, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		{"repeated id", queueURL, []sqstypes.DeleteMessageBatchRequestEntry{entry("a", aws.String("h")), entry("a", aws.String("h"))}, &notDistinct, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{"bad id", queueURL, []sqstypes.DeleteMessageBatchRequestEntry{entry("a.b", aws.String("h"))}, &badID, "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{"no queue", aws.String(lab.urls[east] + "/" + DefaultAccountID + "/missing"), []sqstypes.DeleteMessageBatchRequestEntry{entry("a", aws.String("h"))}, &noQueue, "AWS.SimpleQueueService.NonExistentQueue"},
	}
	for _, tc := range cases {
		_, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: tc.url, Entries: tc.entries})
		if !errors.As(err, tc.target) || apiCode(t, err) != tc.code {
			t.Errorf("%s: error = %v, want %s", tc.name, err, tc.code)
		}
	}
}

// TestSQSReceiptHandles checks the handle rules a delete relies on: a handle works only on its
// own queue, any handle the message was received with deletes it, and once the message is gone
// every one of its handles still succeeds while a made-up one does not.
func TestSQSReceiptHandles(t *testing.T) {
	lab := startLab(t, Options{})
	ctx := context.Background()
	client := sqs.NewFromConfig(sdkConfig(lab.urls[east], east))
	// Queue a's messages are visible again at once, so a second receive gets a second handle.
	for _, q := range []string{"a", "b"} {
		if _, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(q), Attributes: map[string]string{"VisibilityTimeout": "0"}}); err != nil {
			t.Fatal(err)
		}
	}
	urlA := aws.String(lab.urls[east] + "/" + DefaultAccountID + "/a")
	urlB := aws.String(lab.urls[east] + "/" + DefaultAccountID + "/b")
	if _, err := lab.twin.SendMessage(east, "a", "x"); err != nil {
		t.Fatal(err)
	}
	var handles []*string
	for range 2 {
		r, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: urlA})
		if err != nil || len(r.Messages) != 1 {
			t.Fatalf("ReceiveMessage = %+v, %v", r, err)
		}
		handles = append(handles, r.Messages[0].ReceiptHandle)
	}
	var rhi *sqstypes.ReceiptHandleIsInvalid
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: urlB, ReceiptHandle: handles[1]}); !errors.As(err, &rhi) {
		t.Fatalf("DeleteMessage(handle of queue a on queue b) error = %v, want ReceiptHandleIsInvalid", err)
	}
	// A handle with one bit of its MAC changed is refused too.
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(handles[1]))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	altered := base64.StdEncoding.EncodeToString(raw)
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: urlA, ReceiptHandle: aws.String(altered)}); !errors.As(err, &rhi) {
		t.Fatalf("DeleteMessage(altered handle) error = %v, want ReceiptHandleIsInvalid", err)
	}
	if d := lab.twin.queueDepth(east, "a"); d != 1 {
		t.Fatalf("refused deletes removed the message: depth %d", d)
	}
	for i, h := range []*string{handles[0], handles[1], handles[0]} {
		if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: urlA, ReceiptHandle: h}); err != nil {
			t.Fatalf("DeleteMessage #%d: %v", i, err)
		}
		if d := lab.twin.queueDepth(east, "a"); d != 0 {
			t.Fatalf("after delete #%d: depth %d", i, d)
		}
	}
	if n := lab.twin.DeletedMessages(east, "a"); n != 1 {
		t.Fatalf("DeletedMessages = %d, want 1", n)
	}
}
