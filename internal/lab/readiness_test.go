package lab

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/opensearchserverless"
	aosstypes "github.com/aws/aws-sdk-go-v2/service/opensearchserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/osis"
	osistypes "github.com/aws/aws-sdk-go-v2/service/osis/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/require"
)

// TestLabReadinessAPIs drives the APIs readiness and pre-scaling use through the real SDK
// clients: OSI units and buffering (GetPipeline, UpdatePipeline), OpenSearch Serverless
// capacity limits (Get/UpdateAccountSettings), Service Quotas, STS and IAM policy simulation,
// and the faults that break each.
func TestLabReadinessAPIs(t *testing.T) {
	l := startTestLab(t, nil)
	ctx := context.Background()
	cfg := sdkConfig(l, west)
	env := l.Environment()
	pipe := env.Regions[west].Pipeline

	o := osis.NewFromConfig(cfg)
	got, err := o.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(pipe)})
	require.NoError(t, err)
	require.Equal(t, int32(labMinUnits), got.Pipeline.MinUnits)
	require.Equal(t, int32(labMaxUnits), got.Pipeline.MaxUnits)
	require.True(t, aws.ToBool(got.Pipeline.BufferOptions.PersistentBufferEnabled))
	require.True(t, aws.ToBool(got.Pipeline.LogPublishingOptions.IsLoggingEnabled))
	require.Contains(t, aws.ToString(got.Pipeline.PipelineConfigurationBody), "dlq:")

	up, err := o.UpdatePipeline(ctx, &osis.UpdatePipelineInput{PipelineName: aws.String(pipe), MinUnits: aws.Int32(2), MaxUnits: aws.Int32(8)})
	require.NoError(t, err)
	require.Equal(t, int32(8), up.Pipeline.MaxUnits)
	got, err = o.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(pipe)})
	require.NoError(t, err)
	require.Equal(t, int32(2), got.Pipeline.MinUnits, "GetPipeline shows the update")
	require.Len(t, l.Twin().PipelineUpdates(west), 1)
	_, err = o.UpdatePipeline(ctx, &osis.UpdatePipelineInput{PipelineName: aws.String(pipe), MinUnits: aws.Int32(9)})
	var ve *osistypes.ValidationException
	require.ErrorAs(t, err, &ve, "MinUnits above MaxUnits is refused")
	_, err = o.UpdatePipeline(ctx, &osis.UpdatePipelineInput{PipelineName: aws.String(pipe), MaxUnits: aws.Int32(97)})
	require.ErrorAs(t, err, &ve, "MaxUnits above the quota of 96 is refused")

	a := opensearchserverless.NewFromConfig(cfg)
	as, err := a.GetAccountSettings(ctx, &opensearchserverless.GetAccountSettingsInput{})
	require.NoError(t, err)
	require.Equal(t, int32(10), aws.ToInt32(as.AccountSettingsDetail.CapacityLimits.MaxIndexingCapacityInOCU))
	us, err := a.UpdateAccountSettings(ctx, &opensearchserverless.UpdateAccountSettingsInput{CapacityLimits: &aosstypes.CapacityLimits{MaxIndexingCapacityInOCU: aws.Int32(24)}})
	require.NoError(t, err)
	require.Equal(t, int32(24), aws.ToInt32(us.AccountSettingsDetail.CapacityLimits.MaxIndexingCapacityInOCU))
	require.Equal(t, int32(10), aws.ToInt32(us.AccountSettingsDetail.CapacityLimits.MaxSearchCapacityInOCU), "a member left out is kept")
	_, err = a.UpdateAccountSettings(ctx, &opensearchserverless.UpdateAccountSettingsInput{CapacityLimits: &aosstypes.CapacityLimits{MaxSearchCapacityInOCU: aws.Int32(1)}})
	var ave *aosstypes.ValidationException
	require.ErrorAs(t, err, &ave)

	q := servicequotas.NewFromConfig(cfg)
	lq, err := q.ListServiceQuotas(ctx, &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String("osis")})
	require.NoError(t, err)
	require.Len(t, lq.Quotas, 1)
	require.Equal(t, 96.0, aws.ToFloat64(lq.Quotas[0].Value))

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	require.Contains(t, aws.ToString(id.Arn), "assumed-role/switchyard-worker-"+west)

	im := iam.NewFromConfig(cfg)
	simulate := func() iamtypes.PolicyEvaluationDecisionType {
		t.Helper()
		out, err := im.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(WorkerRoleARN(west)),
			ActionNames: []string{"osis:StartPipeline", "kafka:DescribeReplicator"}})
		require.NoError(t, err)
		require.Len(t, out.EvaluationResults, 2)
		require.Equal(t, "kafka:DescribeReplicator", aws.ToString(out.EvaluationResults[0].EvalActionName))
		require.Equal(t, iamtypes.PolicyEvaluationDecisionTypeAllowed, out.EvaluationResults[0].EvalDecision)
		return out.EvaluationResults[1].EvalDecision
	}
	require.Equal(t, iamtypes.PolicyEvaluationDecisionTypeAllowed, simulate())
	_, err = l.Inject(ctx, Fault{Kind: FaultIAMDeny, Region: west, Operation: "osis:StartPipeline"})
	require.NoError(t, err)
	require.Equal(t, iamtypes.PolicyEvaluationDecisionTypeExplicitDeny, simulate())
	// The calls meet the same policy: StartPipeline is refused in that Region only.
	_, err = o.StartPipeline(ctx, &osis.StartPipelineInput{PipelineName: aws.String(pipe)})
	var ade *osistypes.AccessDeniedException
	require.ErrorAs(t, err, &ade)
	_, err = o.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(pipe)})
	require.NoError(t, err)
	_, err = osis.NewFromConfig(sdkConfig(l, east)).StartPipeline(ctx, &osis.StartPipelineInput{PipelineName: aws.String(env.Regions[east].Pipeline)})
	require.NotErrorAs(t, err, &ade, "us-east-1's worker role is not denied")
	_, err = l.Heal(ctx, Fault{Kind: FaultIAMDeny, Region: west, Operation: "osis:StartPipeline"})
	require.NoError(t, err)
	require.Equal(t, iamtypes.PolicyEvaluationDecisionTypeAllowed, simulate())
	_, err = im.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + AccountID + ":role/nobody"), ActionNames: []string{"osis:GetPipeline"}})
	var nse *iamtypes.NoSuchEntityException
	require.ErrorAs(t, err, &nse)

	// IAM's control plane is in us-east-1: impairing it makes the simulation unanswerable from
	// us-west-2's endpoint too, while STS in us-west-2 still answers.
	_, err = l.Inject(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = im.SimulatePrincipalPolicy(tctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(WorkerRoleARN(west)), ActionNames: []string{"osis:GetPipeline"}})
	cancel()
	require.Error(t, err)
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	require.NoError(t, err)
	_, err = l.Heal(ctx, Fault{Kind: FaultImpairRegion, Region: east})
	require.NoError(t, err)

	// The configuration faults show in GetPipeline and heal back.
	for _, k := range []FaultKind{FaultNoPersistentBuffer, FaultNoDLQ, FaultCapCollection, FaultLowQuota} {
		_, err := l.Inject(ctx, Fault{Kind: k, Region: west})
		require.NoError(t, err, k)
	}
	got, err = o.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(pipe)})
	require.NoError(t, err)
	require.False(t, aws.ToBool(got.Pipeline.BufferOptions.PersistentBufferEnabled))
	require.NotContains(t, aws.ToString(got.Pipeline.PipelineConfigurationBody), "dlq:")
	as, err = a.GetAccountSettings(ctx, &opensearchserverless.GetAccountSettingsInput{})
	require.NoError(t, err)
	require.Equal(t, int32(2), aws.ToInt32(as.AccountSettingsDetail.CapacityLimits.MaxSearchCapacityInOCU))
	_, err = l.HealAll(ctx)
	require.NoError(t, err)
	got, err = o.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(pipe)})
	require.NoError(t, err)
	require.True(t, aws.ToBool(got.Pipeline.BufferOptions.PersistentBufferEnabled))
	require.Contains(t, aws.ToString(got.Pipeline.PipelineConfigurationBody), "dlq:")
}

// TestLabUpdatePipelineReportsUpdating: with an update delay, an updated ACTIVE pipeline reports
// UPDATING until the change is applied, then ACTIVE with the new units, as OSI does; another
// update meanwhile is refused with ConflictException.
func TestLabUpdatePipelineReportsUpdating(t *testing.T) {
	l := startTestLab(t, nil)
	ctx := context.Background()
	pipe := l.Environment().Regions[east].Pipeline
	o := osis.NewFromConfig(sdkConfig(l, east))
	l.Twin().SetPipelineUpdateDelay(east, 300*time.Millisecond)
	out, err := o.UpdatePipeline(ctx, &osis.UpdatePipelineInput{PipelineName: aws.String(pipe), MaxUnits: aws.Int32(6)})
	require.NoError(t, err)
	require.Equal(t, osistypes.PipelineStatusUpdating, out.Pipeline.Status)
	_, err = o.UpdatePipeline(ctx, &osis.UpdatePipelineInput{PipelineName: aws.String(pipe), MaxUnits: aws.Int32(7)})
	var ce *osistypes.ConflictException
	require.ErrorAs(t, err, &ce)
	eventually(t, 5*time.Second, func() (bool, string) {
		got, err := o.GetPipeline(ctx, &osis.GetPipelineInput{PipelineName: aws.String(pipe)})
		if err != nil {
			return false, err.Error()
		}
		return got.Pipeline.Status == osistypes.PipelineStatusActive && got.Pipeline.MaxUnits == 6, string(got.Pipeline.Status)
	})
}
