package arctwin_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	rc "github.com/aws/aws-sdk-go-v2/service/route53recoverycluster"
	"github.com/aws/aws-sdk-go-v2/service/route53recoverycluster/types"
	"github.com/stretchr/testify/require"
)

// A deleted safety rule no longer refuses the updates it refused.
func TestDeleteSafetyRule(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	off := &rc.UpdateRoutingControlStateInput{RoutingControlArn: aws.String(f.east), RoutingControlState: types.RoutingControlStateOff}
	_, err := f.good("us-west-2").UpdateRoutingControlState(ctx, off)
	var conflict *types.ConflictException
	require.ErrorAs(t, err, &conflict, "the rule refuses leaving no Region On")

	require.NoError(t, f.c.DeleteSafetyRule(f.atLeastOne))
	require.Error(t, f.c.DeleteSafetyRule(f.atLeastOne), "deleted already")
	_, err = f.good("us-west-2").UpdateRoutingControlState(ctx, off)
	require.NoError(t, err)
	on, _ := f.c.RoutingControlState(f.east)
	require.False(t, on)
}
