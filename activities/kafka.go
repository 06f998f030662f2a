package activities

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	saslaws "github.com/twmb/franz-go/pkg/sasl/aws"

	"github.com/switchyard-dr/switchyard/internal/awsclients"
	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// kafkaTimeout bounds one admin exchange with a Region's brokers. An impaired Region's brokers
// do not answer at all, and a check must report that within a poll interval, not hang.
const kafkaTimeout = 30 * time.Second

// kafkaAdmin opens an admin client on the Region's brokers. MSK IAM authentication uses
// franz-go's AWS_MSK_IAM mechanism with the Region's credentials (its assumed role, if any); the
// lab uses none. It makes no request: franz-go connects on first use.
func kafkaAdmin(ctx context.Context, f *awsclients.Factory, region string, rc runbook.RegionConfig) (*kadm.Client, error) {
	cl, err := kafkaClient(ctx, f, region, rc)
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}

// kafkaClient opens a client on the Region's brokers with the Region's authentication; the
// admin client and the readiness canary's producer share it.
func kafkaClient(ctx context.Context, f *awsclients.Factory, region string, rc runbook.RegionConfig, extra ...kgo.Opt) (*kgo.Client, error) {
	if len(rc.KafkaBootstrap) == 0 {
		return nil, Permanent(fmt.Errorf("no kafka_bootstrap configured for %s", region))
	}
	opts := []kgo.Opt{kgo.SeedBrokers(rc.KafkaBootstrap...), kgo.DialTimeout(10 * time.Second), kgo.RetryTimeout(15 * time.Second)}
	switch rc.KafkaAuth {
	case "none":
	case "", "iam":
		cfg, err := f.Config(ctx, awsclients.FromEnvironment(region, rc))
		if err != nil {
			return nil, Permanent(err)
		}
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}),
			kgo.SASL(saslaws.ManagedStreamingIAM(func(ctx context.Context) (saslaws.Auth, error) {
				c, err := cfg.Credentials.Retrieve(ctx)
				if err != nil {
					return saslaws.Auth{}, fmt.Errorf("credentials for MSK IAM in %s: %w", region, err)
				}
				return saslaws.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken, UserAgent: "switchyard"}, nil
			})))
	default:
		return nil, Permanent(fmt.Errorf("kafka_auth %q of %s: want iam or none", rc.KafkaAuth, region))
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, Permanent(fmt.Errorf("kafka client for %s: %w", region, err))
	}
	return cl, nil
}

// groupLag reads a consumer group's total lag on topic with kadm. A group that does not exist or
// has committed nothing on the topic yet is backfillLagNotReady (nothing to measure, which callers
// report as not ok), an unreachable cluster a retryable RegionUnreachable error.
func groupLag(ctx context.Context, adm *kadm.Client, region string, rc runbook.RegionConfig, group, topic string) (int64, error) {
	lctx, cancel := context.WithTimeout(ctx, kafkaTimeout)
	defer cancel()
	lags, err := adm.Lag(lctx, group)
	if err != nil {
		return 0, regionUnreachable(fmt.Errorf("kafka brokers of %s (%s): measure lag of %s: %w", region, strings.Join(rc.KafkaBootstrap, ","), group, err))
	}
	gl, ok := lags[group]
	if !ok {
		return 0, backfillLagNotReady(fmt.Sprintf("consumer group %s not found in %s", group, region))
	}
	if err := gl.Error(); err != nil {
		if errors.Is(err, kerr.GroupIDNotFound) {
			return 0, backfillLagNotReady(fmt.Sprintf("consumer group %s not found in %s", group, region))
		}
		return 0, regionUnreachable(fmt.Errorf("kafka brokers of %s: lag of %s: %w", region, group, err))
	}
	parts := gl.Lag[topic]
	if len(parts) == 0 {
		return 0, backfillLagNotReady(fmt.Sprintf("consumer group %s in %s has no committed offsets on %s (state %s)", group, region, topic, gl.State))
	}
	var total int64
	for p, ml := range parts {
		if ml.Err != nil || ml.Lag < 0 {
			return 0, fmt.Errorf("lag of %s on %s partition %d in %s: %v", group, topic, p, region, ml.Err)
		}
		total += ml.Lag
	}
	return total, nil
}

// groupMembers describes a consumer group at the brokers: its state and how many members it has.
// A group the brokers do not know is reported as Dead with no members, which is what it is for
// MSK Replicator's offset sync: idle.
func groupMembers(ctx context.Context, adm *kadm.Client, region string, rc runbook.RegionConfig, group string) (string, int, error) {
	dctx, cancel := context.WithTimeout(ctx, kafkaTimeout)
	defer cancel()
	described, err := adm.DescribeGroups(dctx, group)
	if err != nil {
		return "", 0, regionUnreachable(fmt.Errorf("kafka brokers of %s (%s): describe group %s: %w", region, strings.Join(rc.KafkaBootstrap, ","), group, err))
	}
	g, ok := described[group]
	if !ok {
		return "Dead", 0, nil
	}
	if g.Err != nil {
		if errors.Is(g.Err, kerr.GroupIDNotFound) {
			return "Dead", 0, nil
		}
		return "", 0, regionUnreachable(fmt.Errorf("kafka brokers of %s: describe group %s: %w", region, group, g.Err))
	}
	return g.State, len(g.Members), nil
}
