package awstwin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// OpenSearch Serverless account settings: the capacity limits that bound every collection of
// the account in a Region (GetAccountSettings / UpdateAccountSettings, awsJson1_0,
// https://docs.aws.amazon.com/opensearch-service/latest/ServerlessAPIReference/API_GetAccountSettings.html
// and API_UpdateAccountSettings.html). "OpenSearch Serverless scales ... up to the maximum
// capacity limits" — the survivor of a Region failure can absorb both Regions' writes only
// within them (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-scaling.html).

// DefaultAOSSCapacityOCU is an account's limit for indexing and for search before anyone
// changes it: "By default, the maximum capacity ... is 10 OCUs for indexing and 10 OCUs for
// search" (serverless-scaling.html above).
const DefaultAOSSCapacityOCU = 10

// AOSSCapacityLimits mirrors opensearchserverless types.CapacityLimits.
type AOSSCapacityLimits struct {
	MaxIndexingCapacityInOCU int
	MaxSearchCapacityInOCU   int
}

type aossAccountState struct {
	mu      sync.Mutex
	limits  AOSSCapacityLimits
	updates []AOSSCapacityUpdate
}

// AOSSCapacityUpdate is one UpdateAccountSettings call the twin applied.
type AOSSCapacityUpdate struct {
	Region string
	At     time.Time
	Limits AOSSCapacityLimits
}

func newAOSSAccountState() *aossAccountState {
	return &aossAccountState{limits: AOSSCapacityLimits{DefaultAOSSCapacityOCU, DefaultAOSSCapacityOCU}}
}

// AOSSCapacity returns region's OpenSearch Serverless capacity limits.
func (t *Twin) AOSSCapacity(region string) AOSSCapacityLimits {
	s := t.region(region).aossAccount
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

// SetAOSSCapacity sets region's capacity limits without an API call (lab setup and faults).
func (t *Twin) SetAOSSCapacity(region string, l AOSSCapacityLimits) {
	s := t.region(region).aossAccount
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
}

// AOSSCapacityUpdates returns the UpdateAccountSettings calls applied in region (all when ""),
// oldest first.
func (t *Twin) AOSSCapacityUpdates(region string) []AOSSCapacityUpdate {
	t.mu.Lock()
	regions := make([]*regionState, 0, len(t.regions))
	for _, rs := range t.regions {
		regions = append(regions, rs)
	}
	t.mu.Unlock()
	var out []AOSSCapacityUpdate
	for _, rs := range regions {
		if region != "" && rs.name != region {
			continue
		}
		rs.aossAccount.mu.Lock()
		out = append(out, rs.aossAccount.updates...)
		rs.aossAccount.mu.Unlock()
	}
	return out
}

func aossAccountDetail(l AOSSCapacityLimits) map[string]any {
	return map[string]any{"accountSettingsDetail": map[string]any{"capacityLimits": map[string]any{
		"maxIndexingCapacityInOCU": l.MaxIndexingCapacityInOCU, "maxSearchCapacityInOCU": l.MaxSearchCapacityInOCU}}}
}

func aossGetAccountSettings(c *call) error {
	return c.replyJSON(aossAccountDetail(c.t.AOSSCapacity(c.rs.name)))
}

// aossUpdateAccountSettings changes the members the request carries. Each limit has "Valid
// Range: Minimum value of 2"
// (https://docs.aws.amazon.com/opensearch-service/latest/ServerlessAPIReference/API_CapacityLimits.html);
// the twin also refuses a limit above the account's Service Quotas value for it (servicequotas.go).
func aossUpdateAccountSettings(c *call) error {
	var in struct {
		CapacityLimits *struct {
			MaxIndexingCapacityInOCU *int `json:"maxIndexingCapacityInOCU"`
			MaxSearchCapacityInOCU   *int `json:"maxSearchCapacityInOCU"`
		} `json:"capacityLimits"`
	}
	if err := json.Unmarshal(nonEmptyJSON(c.body), &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()}
	}
	s := c.rs.aossAccount
	s.mu.Lock()
	next := s.limits
	s.mu.Unlock()
	if cl := in.CapacityLimits; cl != nil {
		check := func(field string, v *int, dst *int, quota string) error {
			if v == nil {
				return nil
			}
			if *v < 2 {
				return aossValidation(fmt.Sprintf("1 validation error detected: Value '%d' at 'capacityLimits.%s' failed to satisfy constraint: Member must have value greater than or equal to 2", *v, field))
			}
			if q, ok := c.t.quotaValue(c.rs.name, QuotaServiceAOSS, quota); ok && float64(*v) > q {
				// UpdateAccountSettings documents only InternalServerException and ValidationException.
				return aossValidation(fmt.Sprintf("%s %d exceeds the account's quota of %g OCUs; request an increase through Service Quotas", field, *v, q))
			}
			*dst = *v
			return nil
		}
		if err := check("maxIndexingCapacityInOCU", cl.MaxIndexingCapacityInOCU, &next.MaxIndexingCapacityInOCU, QuotaAOSSMaxIndexingOCU); err != nil {
			return err
		}
		if err := check("maxSearchCapacityInOCU", cl.MaxSearchCapacityInOCU, &next.MaxSearchCapacityInOCU, QuotaAOSSMaxSearchOCU); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.limits = next
	s.updates = append(s.updates, AOSSCapacityUpdate{Region: c.rs.name, At: c.t.now(), Limits: next})
	s.mu.Unlock()
	return c.replyJSON(aossAccountDetail(next))
}
