package awstwin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Service Quotas speaks awsJson1_1 (X-Amz-Target ServiceQuotasV20190624.<Op>, signing name
// servicequotas; https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html).
// The twin keeps one table per Region: quotas are Regional ("Service Quotas ... are Region
// specific", https://docs.aws.amazon.com/servicequotas/latest/userguide/intro.html), and the
// other twins enforce the ones that bind a failover (osis_settings.go: MaxUnits per pipeline;
// aoss_account.go: the account's capacity limits).

// ServiceServiceQuotas is the signing name of Service Quotas.
const ServiceServiceQuotas = "servicequotas"

// Service codes and the lab's quota codes for the quotas readiness reads. AWS assigns each
// quota an opaque code (L-XXXXXXXX); the lab's codes are its own, and readers find a quota by
// its name through ListServiceQuotas rather than by a code they could not know in advance.
const (
	QuotaServiceOSIS = "osis"
	QuotaServiceAOSS = "aoss"

	QuotaOSISMaxUnitsPerPipeline = "L-5A1B0001"
	QuotaAOSSMaxIndexingOCU      = "L-5A1B0002"
	QuotaAOSSMaxSearchOCU        = "L-5A1B0003"
)

// Names of those quotas, as Service Quotas lists them; readers match on these.
const (
	QuotaNameOSISMaxUnitsPerPipeline = "Maximum Ingestion OCUs per pipeline"
	QuotaNameAOSSMaxIndexingOCU      = "Maximum indexing capacity (OCUs) per account"
	QuotaNameAOSSMaxSearchOCU        = "Maximum search capacity (OCUs) per account"
)

// ServiceQuota mirrors servicequotas types.ServiceQuota.
type ServiceQuota struct {
	ServiceCode, ServiceName string
	QuotaCode, QuotaName     string
	Value                    float64
	Unit                     string
	Adjustable               bool
}

type quotaState struct {
	mu     sync.Mutex
	quotas map[string]ServiceQuota // by service code + "/" + quota code
}

// DefaultServiceQuotas are the values a fresh account has: 96 Ingestion OCUs per pipeline
// ("Maximum Ingestion OCUs per pipeline: 96",
// https://docs.aws.amazon.com/opensearch-service/latest/developerguide/limits.html#limits-osis)
// and OpenSearch Serverless capacity of up to 1,700 OCUs each for indexing and search per account
// and Region (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/limits.html#limits-serverless).
func DefaultServiceQuotas() []ServiceQuota {
	return []ServiceQuota{
		{ServiceCode: QuotaServiceOSIS, ServiceName: "Amazon OpenSearch Ingestion", QuotaCode: QuotaOSISMaxUnitsPerPipeline,
			QuotaName: QuotaNameOSISMaxUnitsPerPipeline, Value: 96, Unit: "None", Adjustable: true},
		{ServiceCode: QuotaServiceAOSS, ServiceName: "Amazon OpenSearch Serverless", QuotaCode: QuotaAOSSMaxIndexingOCU,
			QuotaName: QuotaNameAOSSMaxIndexingOCU, Value: 1700, Unit: "None", Adjustable: true},
		{ServiceCode: QuotaServiceAOSS, ServiceName: "Amazon OpenSearch Serverless", QuotaCode: QuotaAOSSMaxSearchOCU,
			QuotaName: QuotaNameAOSSMaxSearchOCU, Value: 1700, Unit: "None", Adjustable: true},
	}
}

func newQuotaState() *quotaState {
	s := &quotaState{quotas: map[string]ServiceQuota{}}
	for _, q := range DefaultServiceQuotas() {
		s.quotas[q.ServiceCode+"/"+q.QuotaCode] = q
	}
	return s
}

// SetServiceQuota sets a quota's value in region (lab setup and faults); the quota must exist.
func (t *Twin) SetServiceQuota(region, serviceCode, quotaCode string, value float64) error {
	s := t.region(region).quotas
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.quotas[serviceCode+"/"+quotaCode]
	if !ok {
		return fmt.Errorf("no quota %s/%s in %s: %w", serviceCode, quotaCode, region, ErrNotFound)
	}
	q.Value = value
	s.quotas[serviceCode+"/"+quotaCode] = q
	return nil
}

func (t *Twin) quotaValue(region, serviceCode, quotaCode string) (float64, bool) {
	s := t.region(region).quotas
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.quotas[serviceCode+"/"+quotaCode]
	return q.Value, ok
}

func serviceQuotasService() *service {
	return &service{
		name:         ServiceServiceQuotas,
		namespace:    "com.amazonaws.servicequotas",
		target:       "ServiceQuotasV20190624",
		defaultProto: protoJSON11,
		resolve:      resolveJSON11,
		ops: map[string]func(*call) error{
			"GetServiceQuota":   sqGetServiceQuota,
			"ListServiceQuotas": sqListServiceQuotas,
		},
		throttle: apiError{Status: http.StatusBadRequest, Code: "TooManyRequestsException", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "ServiceException", Receiver: true},
	}
}

// resolveJSON11 identifies an awsJson1_1 operation from X-Amz-Target.
func resolveJSON11(c *call) *apiError {
	c.proto = protoJSON11
	op, ok := strings.CutPrefix(c.r.Header.Get("X-Amz-Target"), c.svc.target+".")
	if !ok || c.r.Method != http.MethodPost {
		return &apiError{Status: http.StatusBadRequest, Code: "UnknownOperationException",
			Message: fmt.Sprintf("%s requests are POST with X-Amz-Target %s.<Operation>", c.svc.name, c.svc.target)}
	}
	if _, known := c.svc.ops[op]; !known {
		return &apiError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Message: fmt.Sprintf("the lab twin does not implement %s %q", c.svc.name, op)}
	}
	c.op = op
	return nil
}

func (t *Twin) quotaARN(region string, q ServiceQuota) string {
	return fmt.Sprintf("arn:aws:servicequotas:%s:%s:%s/%s", region, t.opts.AccountID, q.ServiceCode, q.QuotaCode)
}

func sqJSON(c *call, q ServiceQuota) map[string]any {
	return map[string]any{
		"ServiceCode": q.ServiceCode, "ServiceName": q.ServiceName, "QuotaArn": c.t.quotaARN(c.rs.name, q),
		"QuotaCode": q.QuotaCode, "QuotaName": q.QuotaName, "Value": q.Value, "Unit": q.Unit,
		"Adjustable": q.Adjustable, "GlobalQuota": false, "QuotaAppliedAtLevel": "ACCOUNT",
	}
}

// sqGetServiceQuota answers a quota's applied value; an unknown code is NoSuchResourceException
// (API_GetServiceQuota.html, Errors).
func sqGetServiceQuota(c *call) error {
	var in struct {
		ServiceCode string `json:"ServiceCode"`
		QuotaCode   string `json:"QuotaCode"`
	}
	if err := json.Unmarshal(nonEmptyJSON(c.body), &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "IllegalArgumentException", Message: err.Error()}
	}
	if in.ServiceCode == "" || in.QuotaCode == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "IllegalArgumentException", Message: "ServiceCode and QuotaCode are required."}
	}
	s := c.rs.quotas
	s.mu.Lock()
	q, ok := s.quotas[in.ServiceCode+"/"+in.QuotaCode]
	s.mu.Unlock()
	if !ok {
		return &apiError{Status: http.StatusBadRequest, Code: "NoSuchResourceException",
			Message: fmt.Sprintf("The request failed because the specified quota %s for service %s does not exist.", in.QuotaCode, in.ServiceCode)}
	}
	return c.replyJSON(map[string]any{"Quota": sqJSON(c, q)})
}

// sqListServiceQuotas lists a service's applied quotas (API_ListServiceQuotas.html); the twin
// returns them in one page.
func sqListServiceQuotas(c *call) error {
	var in struct {
		ServiceCode string `json:"ServiceCode"`
	}
	if err := json.Unmarshal(nonEmptyJSON(c.body), &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "IllegalArgumentException", Message: err.Error()}
	}
	if in.ServiceCode == "" {
		return &apiError{Status: http.StatusBadRequest, Code: "IllegalArgumentException", Message: "ServiceCode is required."}
	}
	s := c.rs.quotas
	s.mu.Lock()
	var qs []ServiceQuota
	for _, q := range s.quotas {
		if q.ServiceCode == in.ServiceCode {
			qs = append(qs, q)
		}
	}
	s.mu.Unlock()
	sort.Slice(qs, func(i, j int) bool { return qs[i].QuotaCode < qs[j].QuotaCode })
	out := make([]map[string]any, 0, len(qs))
	for _, q := range qs {
		out = append(out, sqJSON(c, q))
	}
	return c.replyJSON(map[string]any{"Quotas": out})
}
