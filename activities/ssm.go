package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"go.temporal.io/sdk/temporal"
)

// SSMGetArgs is the input of ssm.get_parameter.
type SSMGetArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region of the parameter"`
	Name        string `json:"name" catalog:"required" doc:"the parameter name"`
}

// SSMGetResult is the output of ssm.get_parameter.
type SSMGetResult struct {
	Value   string `json:"value"`
	Type    string `json:"type"`
	Version int64  `json:"version"`
}

// GetParameter reads an SSM parameter (decrypted). A missing parameter fails at once as
// NotFound, naming it and the Region.
func (c *Cloud) GetParameter(ctx context.Context, in SSMGetArgs) (SSMGetResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return SSMGetResult{}, err
	}
	sc, err := c.opts.AWS.SSM(ctx, t.aws)
	if err != nil {
		return SSMGetResult{}, Permanent(err)
	}
	p, found, err := getParameter(ctx, sc, in.Name, t.region)
	if err != nil {
		return SSMGetResult{}, err
	}
	if !found {
		return SSMGetResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("get parameter %s in %s: ParameterNotFound", in.Name, t.region), ErrNotFound, nil)
	}
	return SSMGetResult{Value: aws.ToString(p.Value), Type: string(p.Type), Version: p.Version}, nil
}

func getParameter(ctx context.Context, sc *ssm.Client, name, region string) (ssmtypes.Parameter, bool, error) {
	if name == "" {
		return ssmtypes.Parameter{}, false, badArgs("a parameter name is required")
	}
	out, err := sc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var nf *ssmtypes.ParameterNotFound
	switch {
	case errors.As(err, &nf):
		return ssmtypes.Parameter{}, false, nil
	case err != nil:
		return ssmtypes.Parameter{}, false, Wrap(err, "get parameter", name, region)
	case out.Parameter == nil:
		return ssmtypes.Parameter{}, false, fmt.Errorf("get parameter %s in %s: empty answer", name, region)
	}
	return *out.Parameter, true, nil
}

// SSMPutArgs is the input of ssm.put_parameter.
type SSMPutArgs struct {
	Environment string `json:"environment" catalog:"required" doc:"the environment, usually ${{ run.environment }}"`
	Region      string `json:"region" catalog:"region,required" doc:"the Region of the parameter"`
	Name        string `json:"name" catalog:"required" doc:"the parameter name"`
	Value       string `json:"value" catalog:"required" doc:"the desired value"`
	Type        string `json:"type,omitempty" doc:"String (default), StringList or SecureString"`
}

// SSMPutResult is the output of ssm.put_parameter.
type SSMPutResult struct {
	Changed  bool   `json:"changed"`
	Previous string `json:"previous" doc:"the value before (empty when the parameter did not exist or is a SecureString)"`
	Version  int64  `json:"version"`
	Summary  string `json:"summary"`
}

// PutParameter sets an SSM parameter to a desired value, for applications that pick their
// Region from configuration. It reads first and writes only when the value differs, so a retry
// does not create a new parameter version (which would wake every watcher again).
func (c *Cloud) PutParameter(ctx context.Context, in SSMPutArgs) (SSMPutResult, error) {
	t, err := c.target(ctx, in.Environment, in.Region)
	if err != nil {
		return SSMPutResult{}, err
	}
	typ := ssmtypes.ParameterType(cmp.Or(in.Type, string(ssmtypes.ParameterTypeString)))
	switch typ {
	case ssmtypes.ParameterTypeString, ssmtypes.ParameterTypeStringList, ssmtypes.ParameterTypeSecureString:
	default:
		return SSMPutResult{}, badArgs("type must be String, StringList or SecureString, got %q", in.Type)
	}
	sc, err := c.opts.AWS.SSM(ctx, t.aws)
	if err != nil {
		return SSMPutResult{}, Permanent(err)
	}
	cur, found, err := getParameter(ctx, sc, in.Name, t.region)
	if err != nil {
		return SSMPutResult{}, err
	}
	res := SSMPutResult{Previous: aws.ToString(cur.Value), Version: cur.Version}
	if cur.Type == ssmtypes.ParameterTypeSecureString || typ == ssmtypes.ParameterTypeSecureString {
		res.Previous = "" // workflow histories are not the place for secrets
	}
	if found && aws.ToString(cur.Value) == in.Value && cur.Type == typ {
		res.Summary = fmt.Sprintf("parameter %s in %s already has the value (version %d)", in.Name, t.region, cur.Version)
		return res, nil
	}
	out, err := sc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(in.Name), Value: aws.String(in.Value), Type: typ, Overwrite: aws.Bool(found)})
	if err != nil {
		return res, Wrap(err, "put parameter", in.Name, t.region)
	}
	res.Changed, res.Version = true, out.Version
	logFor(ctx, c.opts.Logger).Info("ssm parameter set", "environment", t.envName, "region", t.region, "name", in.Name, "version", out.Version)
	res.Summary = fmt.Sprintf("parameter %s in %s set (version %d)", in.Name, t.region, out.Version)
	return res, nil
}
