package awstwin

import (
	"fmt"
	"net/http"
	"strings"
)

// Authorization of API calls by the caller's identity policies. With [Twin.EnforceIAM] on, a
// call into a Region is made as the worker role STS answers for that Region
// ([Twin.SetCallerIdentity]) and is refused with the service's access-denied error (HTTP 403)
// unless that role's policies allow the call's action — so the policy SimulatePrincipalPolicy
// answers from is the one the calls meet, as on AWS ("the request is denied unless an identity
// policy allows it", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
// Resource-level conditions are not evaluated (every statement is read as applying to "*").
// sts:GetCallerIdentity needs no permission ("No permissions are required to perform this
// operation", https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).

// EnforceIAM turns policy enforcement on or off (off by default).
func (t *Twin) EnforceIAM(on bool) {
	t.iam.mu.Lock()
	defer t.iam.mu.Unlock()
	t.iam.enforce = on
}

// iamPrefixes maps a signing name to its IAM service prefix where they differ.
var iamPrefixes = map[string]string{ServiceCloudWatch: "cloudwatch"}

// iamActionNames are operations whose IAM action has another name
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html and
// list_amazonsqs.html).
var iamActionNames = map[string]string{
	"s3:ListObjectsV2": "s3:ListBucket", "s3:HeadObject": "s3:GetObject", "s3:HeadBucket": "s3:ListBucket",
	"sqs:DeleteMessageBatch": "sqs:DeleteMessage", "sqs:SendMessageBatch": "sqs:SendMessage",
	"sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}

// iamAction is the IAM action of a call.
func iamAction(c *call) string {
	prefix := c.svc.name
	if p, ok := iamPrefixes[prefix]; ok {
		prefix = p
	}
	a := prefix + ":" + c.op
	if n, ok := iamActionNames[a]; ok {
		return n
	}
	return a
}

// roleOfCaller is the role ARN of an assumed-role session ARN (arn:aws:sts::A:assumed-role/R/S
// → arn:aws:iam::A:role/R); "" for anything else.
func roleOfCaller(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" || !strings.HasPrefix(parts[5], "assumed-role/") {
		return ""
	}
	role, _, _ := strings.Cut(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], role)
}

// authorize refuses a call its caller's policies do not allow; it reports whether the call may
// proceed.
func (t *Twin) authorize(c *call) bool {
	t.iam.mu.Lock()
	enforce := t.iam.enforce
	t.iam.mu.Unlock()
	if !enforce || (c.svc.name == ServiceSTS && c.op == "GetCallerIdentity") {
		return true
	}
	t.sts.mu.Lock()
	caller := t.sts.callers[c.rs.name]
	t.sts.mu.Unlock()
	role := roleOfCaller(caller)
	if role == "" {
		return true // no worker role for this Region: nothing to enforce
	}
	t.iam.mu.Lock()
	policies := append([]iamRolePolicy(nil), t.iam.roles[role]...)
	t.iam.mu.Unlock()
	action := iamAction(c)
	if d, _ := evalIAM(policies, action, "*"); d == "allowed" {
		return true
	}
	code := "AccessDeniedException"
	if c.proto == protoQuery || c.proto == protoRestXML || c.proto == protoS3 {
		code = "AccessDenied"
	}
	c.fail(&apiError{Status: http.StatusForbidden, Code: code,
		Message: fmt.Sprintf("User: %s is not authorized to perform: %s because no identity-based policy allows the %s action", caller, action, action)})
	return false
}
