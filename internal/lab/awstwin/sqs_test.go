package awstwin

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
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
	return len(s.queues[queue].msgs)
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
	resp, raw = post(form("Action", "GetQueueUrl", "Version", "2012-11-05", "QueueName", "nope"))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>") {
		t.Fatalf("query GetQueueUrl(missing): HTTP %d\n%s", resp.StatusCode, raw)
	}
}
