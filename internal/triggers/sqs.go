package triggers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
)

// SQSAPI is the part of the SQS client the poller uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// maxDeleteBatch is SQS's limit on entries per DeleteMessageBatch.
const maxDeleteBatch = 10

// PollerOptions configure a Poller.
type PollerOptions struct {
	// Client and QueueURL name the queue; Intake handles its messages. All required.
	Client   SQSAPI
	QueueURL string
	Intake   *Intake
	Logger   *slog.Logger
	// WaitTime is the long-poll wait; 0 means 20 s, SQS's maximum.
	WaitTime time.Duration
	// MaxMessages per receive; 0 means 10, SQS's maximum.
	MaxMessages int32
	// Receivers is how many long polls run at once; 0 means 4, so that a burst is drained while
	// receives are in flight (10,000 events through the lab's queue: ~2.0 s with 2, ~1.85 s with 4).
	Receivers int
	// Backoff is the first wait after a failed receive, doubling up to 30 s; 0 means 1 s.
	Backoff time.Duration
}

// Poller long-polls one SQS queue and hands its messages to the intake. A message is deleted
// only once handled, or when malformed (no retry can fix it); a message whose handling failed
// (Temporal unreachable) stays, and SQS delivers it again after its visibility timeout. The
// messages of one receive are handled concurrently, then deleted together in one
// DeleteMessageBatch: a storm costs one delete call per receive of up to ten messages rather
// than one per message.
type Poller struct {
	o   PollerOptions
	log *slog.Logger
}

// NewPoller returns a poller.
func NewPoller(opts PollerOptions) (*Poller, error) {
	if opts.Client == nil || opts.QueueURL == "" || opts.Intake == nil {
		return nil, errors.New("triggers: a poller needs a client, a queue URL and an intake")
	}
	if opts.WaitTime <= 0 {
		opts.WaitTime = 20 * time.Second
	}
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 10
	}
	if opts.Receivers <= 0 {
		opts.Receivers = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Poller{o: opts, log: opts.Logger.With("queue", opts.QueueURL)}, nil
}

// Run polls until ctx is done; it returns nil then.
func (p *Poller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range p.o.Receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.receiveLoop(ctx)
		}()
	}
	p.log.Info("alarm intake: polling SQS", "receivers", p.o.Receivers)
	wg.Wait()
	return nil
}

func (p *Poller) receiveLoop(ctx context.Context) {
	backoff := p.o.Backoff
	for ctx.Err() == nil {
		out, err := p.o.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(p.o.QueueURL),
			MaxNumberOfMessages: p.o.MaxMessages,
			WaitTimeSeconds:     int32(p.o.WaitTime / time.Second),
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("alarm intake: SQS receive failed; retrying", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = p.o.Backoff
		done := make([]bool, len(out.Messages))
		var wg sync.WaitGroup
		for i, m := range out.Messages {
			wg.Add(1)
			go func() {
				defer wg.Done()
				done[i] = p.handle(ctx, aws.ToString(m.Body), aws.ToString(m.MessageId))
			}()
		}
		wg.Wait()
		var handled []sqstypes.Message
		for i, m := range out.Messages {
			if done[i] {
				handled = append(handled, m)
			}
		}
		p.acknowledge(ctx, handled)
	}
}

// handle passes one message to the intake and reports whether it may be deleted.
func (p *Poller) handle(ctx context.Context, body, id string) bool {
	_, err := p.o.Intake.HandleMessage(ctx, []byte(body))
	if err != nil && !errors.Is(err, ErrMalformed) {
		// Left in the queue: it comes back after the visibility timeout.
		p.log.Warn("alarm intake: message kept for redelivery", "message_id", id, "err", err)
		return false
	}
	return true
}

// acknowledge deletes handled messages, up to ten per DeleteMessageBatch. A failed call or entry
// leaves its messages to come back; a redelivery is deduplicated or attaches, so nothing is lost.
func (p *Poller) acknowledge(ctx context.Context, msgs []sqstypes.Message) {
	for chunk := range slices.Chunk(msgs, maxDeleteBatch) {
		// Entry ids are positions in the chunk: unique, and always valid batch ids.
		entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		out, err := p.o.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.o.QueueURL), Entries: entries})
		if err != nil {
			p.log.Warn("alarm intake: delete failed; the messages will come back", "messages", len(chunk), "err", err)
			continue
		}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			if i, err := strconv.Atoi(id); err == nil && i >= 0 && i < len(chunk) {
				id = aws.ToString(chunk[i].MessageId)
			}
			p.log.Warn("alarm intake: delete failed; the message will come back", "message_id", id,
				"code", aws.ToString(f.Code), "err", aws.ToString(f.Message))
		}
	}
}

// Queue is an SQS queue to poll: its Region, URL, and the endpoint to call when it is not AWS.
type Queue struct {
	Region   string
	URL      string
	Endpoint string
}

var sqsHostRe = regexp.MustCompile(`^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// ParseQueue reads a queue flag: an AWS queue URL (https://sqs.<region>.amazonaws.com/<account>/
// <name>), or REGION=URL for any queue, such as the lab's (us-east-1=http://127.0.0.1:4510/
// 000000000000/switchyard-alarms), whose endpoint is then the URL's scheme and host.
func ParseQueue(spec string) (Queue, error) {
	region, raw, explicit := strings.Cut(spec, "=")
	if !explicit {
		raw, region = spec, ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Queue{}, fmt.Errorf("alarm queue %q: want a queue URL or REGION=URL", spec)
	}
	q := Queue{Region: region, URL: raw}
	if m := sqsHostRe.FindStringSubmatch(u.Hostname()); m != nil {
		if q.Region == "" {
			q.Region = m[1]
		}
		return q, nil
	}
	if q.Region == "" {
		return Queue{}, fmt.Errorf("alarm queue %q is not an AWS queue URL: name its Region as REGION=URL", spec)
	}
	q.Endpoint = u.Scheme + "://" + u.Host
	return q, nil
}

// Client returns an SQS client for the queue from the factory (its credentials, role and, for a
// non-AWS queue, endpoint).
func (q Queue) Client(ctx context.Context, f *awsclients.Factory) (*sqs.Client, error) {
	return f.SQS(ctx, awsclients.Region{Name: q.Region, Endpoint: q.Endpoint})
}
