package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/runbook"
	"github.com/switchyard-dr/switchyard/workflows"
)

// ServiceOptions configure the alarm intake of `starter serve`.
type ServiceOptions struct {
	// RunbookDir holds the rules (RunbookDir/triggers/*.yaml), runbooks and environments; required.
	RunbookDir string
	// Store reads RunbookDir; nil makes one. A process that also runs the worker passes the
	// worker's, so the rules are checked against the same parse the engine runs.
	Store *runbook.Store
	// Temporal starts and signals runs; required.
	Temporal Temporal
	// Queues are SQS queues to poll, as ParseQueue reads them.
	Queues []string
	// SNSTopics are accepted by POST /alarms/sns besides the rules files' sns_topics.
	SNSTopics []string
	// AWS builds the SQS clients; nil means awsclients.New with default options.
	AWS *awsclients.Factory
	// Poster posts notify decisions (to the environment's Slack channel); nil only logs them.
	Poster Poster
	// MaxAlarmAge is the intake's Options.MaxAge: older alarm events are recorded, not acted on.
	MaxAlarmAge time.Duration
	Logger      *slog.Logger
}

// Service is the alarm intake: the rules, the SQS pollers and the SNS endpoint around an Intake.
type Service struct {
	intake  *Intake
	sns     *SNSHandler
	pollers []*Poller
	log     *slog.Logger
}

// NewService loads the rules and prepares the pollers. Invalid rules stop it: an intake that
// silently skips a broken rule would not fail over when it should.
func NewService(ctx context.Context, opts ServiceOptions) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Store == nil {
		opts.Store = runbook.NewStore(opts.RunbookDir)
	}
	set, err := LoadStore(opts.Store)
	if err != nil {
		return nil, fmt.Errorf("trigger rules in %s:\n%w", filepath.Join(opts.RunbookDir, Dir), err)
	}
	if len(set.Files) == 0 {
		return nil, fmt.Errorf("no trigger rules in %s: alarms would all be ignored", filepath.Join(opts.RunbookDir, Dir))
	}
	var notifier NotifierFunc
	if opts.Poster != nil {
		notifier = PostTo(set, opts.Poster)
	}
	in, err := New(Options{Rules: set, Temporal: opts.Temporal, Notifier: notifier, Logger: opts.Logger, MaxAge: opts.MaxAlarmAge})
	if err != nil {
		return nil, err
	}
	sns, err := NewSNSHandler(SNSHandlerOptions{Intake: in, Topics: opts.SNSTopics, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	s := &Service{intake: in, sns: sns, log: opts.Logger}
	if opts.AWS == nil && len(opts.Queues) > 0 {
		opts.AWS = awsclients.New(awsclients.Options{Logger: opts.Logger})
	}
	for _, spec := range opts.Queues {
		q, err := ParseQueue(spec)
		if err != nil {
			return nil, err
		}
		c, err := q.Client(ctx, opts.AWS)
		if err != nil {
			return nil, fmt.Errorf("alarm queue %s: %w", q.URL, err)
		}
		p, err := NewPoller(PollerOptions{Client: c, QueueURL: q.URL, Intake: in, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		s.pollers = append(s.pollers, p)
	}
	return s, nil
}

// Intake returns the service's intake (its Stats feed metrics).
func (s *Service) Intake() *Intake { return s.intake }

// SNSHandler serves POST /alarms/sns.
func (s *Service) SNSHandler() http.Handler { return s.sns }

// SNSSource names the verified topic of a POST /alarms/sns body, for rate limiting (see
// SNSHandler.RequestSource).
func (s *Service) SNSSource(r *http.Request, body []byte) string {
	return s.sns.RequestSource(r.Context(), body)
}

// StatusHandler answers the counters and the recent decisions as JSON. Decisions name alarms,
// runbooks and params, so mount it only where operators, not the internet, can reach it.
func (s *Service) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"stats": s.intake.Stats(), "recent": s.intake.Recent()})
	})
}

// Run polls the queues until ctx is done, then returns nil. With no queues it only waits, so
// callers can treat it like any other long-running part of the server.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, p := range s.pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Run(ctx)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// Poster is what posts a notification: activities.Notifier, the Slack notifier.
type Poster interface {
	Notify(ctx context.Context, n workflows.Notification) (workflows.NotifyResult, error)
}

// PostTo returns a NotifierFunc that posts notify decisions through p to the environment's Slack
// channel, with the command that would run the suggested runbook.
func PostTo(rules *Set, p Poster) NotifierFunc {
	return func(ctx context.Context, d Decision) error {
		if p == nil {
			return errors.New("no notifier")
		}
		n := workflows.Notification{Environment: d.Environment, Runbook: d.Runbook, Kind: workflows.NotifyMessage, Trigger: "alarm",
			Text: fmt.Sprintf(":rotating_light: alarm *%s* is %s in %s (rule %s, policy notify). Nothing was started. Suggested: `%s`",
				d.Alarm.Name, d.Alarm.State, orDefault(d.Region, "an unknown Region"), d.Rule, d.Suggestion())}
		if f := rules.File(d.Environment); f != nil && f.Env != nil && f.Env.Slack != nil {
			n.Channel = f.Env.Slack.Channel
		}
		_, err := p.Notify(ctx, n)
		return err
	}
}
