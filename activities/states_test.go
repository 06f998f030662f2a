package activities

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStateClassification(t *testing.T) {
	yes, no := new(true), new(false)
	type want int
	const (
		refused want = iota
		passes
		warns
	)
	for _, tc := range []struct {
		service, state string
		got            stateVerdict
		want           want
	}{
		{"msk", "ACTIVE", mskClusterState("ACTIVE"), passes},
		{"msk", "HEALING", mskClusterState("HEALING"), warns},
		{"msk", "MAINTENANCE", mskClusterState("MAINTENANCE"), warns},
		{"msk", "REBOOTING_BROKER", mskClusterState("REBOOTING_BROKER"), warns},
		{"msk", "UPDATING", mskClusterState("UPDATING"), warns},
		{"msk", "CREATING", mskClusterState("CREATING"), refused},
		{"msk", "DELETING", mskClusterState("DELETING"), refused},
		{"msk", "FAILED", mskClusterState("FAILED"), refused},
		{"msk", "unknown", mskClusterState(""), refused},
		{"msk", "lower case", mskClusterState("active"), refused},

		{"aoss", "ACTIVE", collectionState("ACTIVE"), passes},
		{"aoss", "UPDATING", collectionState("UPDATING"), warns},
		{"aoss", "CREATING", collectionState("CREATING"), refused},
		{"aoss", "DELETING", collectionState("DELETING"), refused},
		{"aoss", "FAILED", collectionState("FAILED"), refused},
		{"aoss", "UPDATE_FAILED", collectionState("UPDATE_FAILED"), refused},

		{"osi", "ACTIVE", pipelineState("ACTIVE"), passes},
		{"osi", "UPDATING", pipelineState("UPDATING"), warns},
		{"osi", "CREATING", pipelineState("CREATING"), refused},
		{"osi", "STARTING", pipelineState("STARTING"), refused},
		{"osi", "STOPPING", pipelineState("STOPPING"), refused},
		{"osi", "STOPPED", pipelineState("STOPPED"), refused},
		{"osi", "DELETING", pipelineState("DELETING"), refused},
		{"osi", "CREATE_FAILED", pipelineState("CREATE_FAILED"), refused},
		{"osi", "UPDATE_FAILED", pipelineState("UPDATE_FAILED"), refused},
		{"osi", "START_FAILED", pipelineState("START_FAILED"), refused},

		{"es", "Active", domainState(domainStates{Created: yes, Deleted: no, ProcessingStatus: "Active", HealthState: "Active"}), passes},
		{"es", "Active, fields absent", domainState(domainStates{HealthState: "Active"}), passes},
		{"es", "Processing", domainState(domainStates{Created: yes, Deleted: no, Processing: true, ProcessingStatus: "Modifying", HealthState: "Processing"}), warns},
		{"es", "Processing flag only", domainState(domainStates{Processing: true, HealthState: "Active"}), warns},
		{"es", "health Processing only", domainState(domainStates{HealthState: "Processing"}), warns},
		{"es", "UpgradeProcessing", domainState(domainStates{Created: yes, UpgradeProcessing: true, ProcessingStatus: "UpgradingEngineVersion", HealthState: "Processing"}), warns},
		{"es", "UpdatingServiceSoftware", domainState(domainStates{Processing: true, ProcessingStatus: "UpdatingServiceSoftware", HealthState: "Processing"}), warns},
		{"es", "NotAvailable", domainState(domainStates{Created: yes, HealthState: "NotAvailable"}), refused},
		{"es", "Creating", domainState(domainStates{Created: no, Processing: true, ProcessingStatus: "Creating", HealthState: "Processing"}), refused},
		{"es", "Deleting", domainState(domainStates{Created: yes, Deleted: yes, ProcessingStatus: "Deleting", HealthState: "Active"}), refused},
		{"es", "Isolated", domainState(domainStates{Created: yes, ProcessingStatus: "Isolated", HealthState: "Active"}), refused},
		{"es", "no health", domainState(domainStates{Created: yes}), refused},
	} {
		t.Run(tc.service+" "+tc.state, func(t *testing.T) {
			switch tc.want {
			case refused:
				require.False(t, tc.got.Serves)
				require.Empty(t, tc.got.Warning)
			case passes:
				require.True(t, tc.got.Serves)
				require.Empty(t, tc.got.Warning, "the steady state passes without a warning")
			case warns:
				require.True(t, tc.got.Serves)
				require.NotEmpty(t, tc.got.Warning, "a serving transitional state says what is going on")
			}
		})
	}
}
