// Package awsclients builds AWS SDK clients per Region. Switchyard always acts on two Regions at
// once, each possibly in another account (an assumed role) or in the lab (an endpoint override),
// so a client is never built from a process-wide default configuration: every call names the
// Region it acts on, and the factory resolves that Region's credentials and endpoint.
package awsclients

import (
	"net"
	"net/url"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/kafka"
	"github.com/aws/aws-sdk-go-v2/service/opensearch"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/switchyard-dr/switchyard/internal/runbook"
)

// Region is what the factory needs to reach one Region.
type Region struct {
	// Name is the AWS Region (us-east-1).
	Name string
	// Endpoint, when set, overrides every service endpoint (the lab's AWS twin).
	Endpoint string
	// AssumeRoleARN, when set, is assumed for every call into the Region.
	AssumeRoleARN string
}

// FromEnvironment takes a Region's access settings from an environment file's Region entry.
func FromEnvironment(name string, rc runbook.RegionConfig) Region {
	return Region{Name: name, Endpoint: rc.AWSEndpoint, AssumeRoleARN: rc.AssumeRoleARN}
}

// Options configure a Factory.
type Options struct {
	// LoadOptions are added to config.LoadDefaultConfig, e.g. a custom HTTP client or, in tests,
	// static credentials.
	LoadOptions []func(*config.LoadOptions) error
	// LabCredentials sign requests to Regions with an endpoint override when the default chain
	// finds no credentials (a laptop running the lab has no AWS profile), and always to one on
	// this machine. Zero uses the lab's own key pair (internal/lab AccessKeyID and
	// SecretAccessKey; a test keeps them equal): the lab's OpenSearch endpoints verify
	// signatures as AWS does, with the secrets of the keys they know.
	LabCredentials aws.Credentials
	Logger         *slog.Logger
}

// Factory builds and caches one aws.Config per Region setting. It is safe for concurrent use.
type Factory struct {
	opts  Options
	mu    sync.Mutex
	cache map[Region]aws.Config
}

// New returns a factory.
func New(opts Options) *Factory {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LabCredentials.AccessKeyID == "" {
		opts.LabCredentials = aws.Credentials{AccessKeyID: "SWITCHYARDLAB", SecretAccessKey: "switchyard-lab", Source: "switchyard lab"}
	}
	return &Factory{opts: opts, cache: map[Region]aws.Config{}}
}

// Config returns the configuration for r: the default credential chain, the role assumed when r
// names one, and the endpoint override when r has one.
func (f *Factory) Config(ctx context.Context, r Region) (aws.Config, error) {
	if r.Name == "" {
		return aws.Config{}, errors.New("awsclients: a Region is required")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cfg, ok := f.cache[r]; ok {
		return cfg, nil
	}
	opts := append([]func(*config.LoadOptions) error{config.WithRegion(r.Name)}, f.opts.LoadOptions...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration for %s: %w", r.Name, err)
	}
	if r.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(r.Endpoint)
		if isLoopback(r.Endpoint) {
			// A lab on this machine: asking the default chain first would probe EC2 instance
			// metadata, which takes seconds to time out on a laptop and proves nothing.
			cfg.Credentials = credentials.StaticCredentialsProvider{Value: f.opts.LabCredentials}
		} else {
			cfg.Credentials = aws.NewCredentialsCache(&fallback{primary: cfg.Credentials, lab: f.opts.LabCredentials})
		}
	}
	if r.AssumeRoleARN != "" {
		stsClient := sts.NewFromConfig(cfg)
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, r.AssumeRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "switchyard-" + r.Name
		}))
	}
	f.cache[r] = cfg
	f.opts.Logger.Debug("AWS configuration ready", "region", r.Name, "endpoint", r.Endpoint, "assume_role", r.AssumeRoleARN)
	return cfg, nil
}

// CloudWatch returns a CloudWatch client for r.
func (f *Factory) CloudWatch(ctx context.Context, r Region) (*cloudwatch.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return cloudwatch.NewFromConfig(cfg), nil
}

// Kafka returns an MSK control-plane client for r.
func (f *Factory) Kafka(ctx context.Context, r Region) (*kafka.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return kafka.NewFromConfig(cfg), nil
}

// S3 returns an S3 client for r. With an endpoint override it uses path-style addressing: the
// lab serves every bucket on one host.
func (f *Factory) S3(ctx context.Context, r Region) (*s3.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = r.Endpoint != "" }), nil
}

// OSIS returns an OpenSearch Ingestion client for r.
func (f *Factory) OSIS(ctx context.Context, r Region) (*osis.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return osis.NewFromConfig(cfg), nil
}

// OpenSearchServerless returns an OpenSearch Serverless control-plane client for r.
func (f *Factory) OpenSearchServerless(ctx context.Context, r Region) (*opensearchserverless.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return opensearchserverless.NewFromConfig(cfg), nil
}

// OpenSearch returns an OpenSearch Service (managed domains) control-plane client for r.
func (f *Factory) OpenSearch(ctx context.Context, r Region) (*opensearch.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return opensearch.NewFromConfig(cfg), nil
}

// Route53 returns a Route 53 client that reaches the service through r. Route 53 is global, but
// the Region still matters: its credentials (an assumed role) and, in the lab, its endpoint, so a
// runbook can make the call through the healthy Region and never touch the impaired one.
func (f *Factory) Route53(ctx context.Context, r Region) (*route53.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return route53.NewFromConfig(cfg), nil
}

// SQS returns an SQS client for r.
func (f *Factory) SQS(ctx context.Context, r Region) (*sqs.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg), nil
}

// SSM returns a Systems Manager client for r (parameters that applications route by).
func (f *Factory) SSM(ctx context.Context, r Region) (*ssm.Client, error) {
	cfg, err := f.Config(ctx, r)
	if err != nil {
		return nil, err
	}
	return ssm.NewFromConfig(cfg), nil
}

// fallback uses the default chain's credentials and, when it has none, the lab's.
type fallback struct {
	primary aws.CredentialsProvider
	lab     aws.Credentials
}

func (p *fallback) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if p.primary != nil {
		if c, err := p.primary.Retrieve(ctx); err == nil {
			return c, nil
		}
	}
	return credentials.NewStaticCredentialsProvider(p.lab.AccessKeyID, p.lab.SecretAccessKey, p.lab.SessionToken).Retrieve(ctx)
}

// isLoopback reports whether endpoint points at this machine (the lab's default).
func isLoopback(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
