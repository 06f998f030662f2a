package awstwin

import (
	"net/http"
	"sync"
)

// STS GetCallerIdentity (awsQuery, https://sts.amazonaws.com/doc/2011-06-15/;
// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html): which
// principal the caller's credentials are. Served on each Region's endpoint, as STS's Regional
// endpoints answer ("AWS recommends using Regional AWS STS endpoints",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_region-endpoints.html),
// so a reader learns the role it runs as in a Region without touching us-east-1.

// ServiceSTS is STS's signing name.
const ServiceSTS = "sts"

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

type stsState struct {
	mu sync.Mutex
	// callers is the assumed-role ARN the lab's credentials stand for, by Region.
	callers map[string]string
}

// SetCallerIdentity sets the principal (an assumed-role or user ARN) GetCallerIdentity answers
// in region.
func (t *Twin) SetCallerIdentity(region, arn string) {
	t.sts.mu.Lock()
	defer t.sts.mu.Unlock()
	t.sts.callers[region] = arn
}

func stsService() *service {
	s := &service{
		name:         ServiceSTS,
		namespace:    "com.amazonaws.sts",
		xmlns:        stsNS,
		defaultProto: protoQuery,
		ops:          map[string]func(*call) error{"GetCallerIdentity": stsGetCallerIdentity},
		throttle:     apiError{Status: http.StatusBadRequest, Code: "Throttling", Message: "Rate exceeded"},
		internal:     apiError{Status: http.StatusInternalServerError, Code: "InternalFailure", Receiver: true},
	}
	s.resolve = func(c *call) *apiError { return resolveRPC(c, protoQuery) }
	return s
}

func stsGetCallerIdentity(c *call) error {
	c.t.sts.mu.Lock()
	arn, ok := c.t.sts.callers[c.rs.name]
	c.t.sts.mu.Unlock()
	if !ok {
		arn = "arn:aws:iam::" + c.t.opts.AccountID + ":user/switchyard-lab"
	}
	return c.reply(obj("UserId", "AIDASWITCHYARDLAB", "Account", c.t.opts.AccountID, "Arn", arn))
}
