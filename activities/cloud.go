package activities

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// CloudOptions configure the catalog entries that act on AWS and OpenSearch. Only RunbookDir is
// required.
type CloudOptions struct {
	// RunbookDir holds the environments (RunbookDir/environments/NAME.yaml) every entry resolves
	// its resource names from.
	RunbookDir string
	// Store reads RunbookDir; nil makes one. The worker passes the one its engine loads runbooks
	// through, so every entry sees the file the run recorded.
	Store *runbook.Store
	// AWS builds per-Region clients; nil uses a default factory (default credential chain, the
	// environment's assume_role_arn and aws_endpoint per Region).
	AWS *awsclients.Factory
	// OpenSearchTransport carries OpenSearch data-plane requests; nil clones
	// http.DefaultTransport.
	OpenSearchTransport http.RoundTripper
	// PollInterval is the default pause between reads of the entries that wait (pipeline start
	// and stop, Route 53 INSYNC, zone decommission, ingesting); 0 means 5s.
	PollInterval time.Duration
	// ARC builds the ARC cluster client of lever arc_routing_control; nil uses internal/arc.
	ARC    ARCFactory
	Logger *slog.Logger
}

// Cloud holds the catalog entries for the two-Region architecture: MSK, OpenSearch Ingestion,
// OpenSearch (Serverless collections and managed domains, control and data plane), Route 53,
// SSM parameters, CloudWatch alarms and the dead-letter buckets.
//
// Every entry names the one Region it acts on in its arguments and calls only that Region's
// endpoints, so a runbook in ungraceful mode can keep every step away from the impaired Region;
// which Region to call is the runbook's decision, never the entry's.
type Cloud struct {
	opts CloudOptions
	envs *envLoader

	osMu      sync.Mutex
	osClients map[osClientKey]*opensearch.Client
}

// NewCloud returns the cloud catalog entries.
func NewCloud(opts CloudOptions) *Cloud {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AWS == nil {
		opts.AWS = awsclients.New(awsclients.Options{Logger: opts.Logger})
	}
	opts.PollInterval = cmp.Or(opts.PollInterval, DefaultPollInterval)
	return &Cloud{opts: opts, envs: newEnvLoader(cmp.Or(opts.Store, runbook.NewStore(opts.RunbookDir))), osClients: map[osClientKey]*opensearch.Client{}}
}

// target is one Region of one environment, resolved from a call's arguments.
type target struct {
	envName string
	env     runbook.Environment
	region  string
	rc      runbook.RegionConfig
	aws     awsclients.Region
}

// target resolves environment and Region. A Region that is not one of the environment's is a
// bad argument: acting on it would touch infrastructure the environment does not describe.
func (c *Cloud) target(ctx context.Context, envName, region string) (target, error) {
	env, err := c.envs.load(ctx, envName)
	if err != nil {
		return target{}, err
	}
	if region == "" {
		return target{}, badArgs("a region is required (one of %s)", strings.Join(regionNames(env), ", "))
	}
	rc, ok := env.Regions[region]
	if !ok {
		return target{}, badArgs("region %q is not a Region of environment %s (have: %s)", region, envName, strings.Join(regionNames(env), ", "))
	}
	return target{envName: envName, env: env, region: region, rc: rc, aws: awsclients.FromEnvironment(region, rc)}, nil
}

func regionNames(env runbook.Environment) []string {
	out := make([]string, 0, len(env.Regions))
	for r := range env.Regions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// badArgs is a non-retryable error about the arguments or the environment they resolve against.
func badArgs(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrBadArguments, nil)
}

// orEnv returns the explicit override when given, else the environment's value; missing both is
// a bad argument naming the environment field to fill in.
func orEnv(override, fromEnv, what, field, region string) (string, error) {
	if override != "" {
		return override, nil
	}
	if fromEnv != "" {
		return fromEnv, nil
	}
	return "", badArgs("no %s: pass one or set %s for %s in the environment", what, field, region)
}

// pollOptions bound a long poll inside an activity.
type pollOptions struct {
	interval time.Duration
	timeout  time.Duration
	// what names the wait in the timeout error ("pipeline lab-osi-primary in us-west-2 to be ACTIVE").
	what string
	// heartbeat, when set, gives the heartbeat details after each read instead of the read's
	// detail text: a typed value a retried attempt reads back (route53ChangeHeartbeat).
	heartbeat func() any
}

// poll calls read until it reports done, heartbeating what it last saw so the UI shows why the
// step is still waiting (and so a stuck worker is detected by the heartbeat timeout). It honours
// ctx; running out of time is a retryable error, because the state may still arrive and the
// activity's retry policy, not this loop, decides how long a step may take overall.
//
// The first pauses are short (100 ms, doubling up to the interval): most waits on a failover's
// critical path end within a second, and waiting a whole interval for the first re-read would add
// that interval to the RTO. Steady-state polling still happens at the interval.
func poll(ctx context.Context, o pollOptions, read func(context.Context) (done bool, detail string, err error)) error {
	deadline := time.Now().Add(o.timeout)
	last := ""
	wait := FirstPollPause(o.interval)
	for {
		done, detail, err := read(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		last = detail
		if activity.IsActivity(ctx) {
			if o.heartbeat != nil {
				activity.RecordHeartbeat(ctx, o.heartbeat())
			} else {
				activity.RecordHeartbeat(ctx, detail)
			}
		}
		if !time.Now().Add(wait).Before(deadline) {
			return &pollTimeout{msg: fmt.Sprintf("timed out after %s waiting for %s: %s", o.timeout, o.what, last)}
		}
		if err := pause(ctx, wait); err != nil {
			return err
		}
		wait = NextPollPause(wait, o.interval)
	}
}

// pollTimeout is a long poll that ran out of time; it is retryable.
type pollTimeout struct{ msg string }

func (e *pollTimeout) Error() string { return e.msg }

func (c *Cloud) interval(d runbook.Duration) time.Duration {
	return cmp.Or(d.D(), c.opts.PollInterval)
}

// logFor adds the run an activity works for to logger, under the keys the SDK's own log lines
// use, so that an operator can find every change a run made by its workflow id.
func logFor(ctx context.Context, logger *slog.Logger) *slog.Logger {
	if !activity.IsActivity(ctx) {
		return logger
	}
	info := activity.GetInfo(ctx)
	return logger.With("WorkflowID", info.WorkflowExecution.ID, "RunID", info.WorkflowExecution.RunID,
		"ActivityType", info.ActivityType.Name, "Attempt", info.Attempt)
}
