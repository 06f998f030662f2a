package arctwin

import (
	"fmt"
	"slices"
)

// DeleteSafetyRule deletes a safety rule, as the recovery-control-config API's DeleteSafetyRule
// does ("Deleting a safety rule doesn't return a response";
// https://docs.aws.amazon.com/recovery-cluster/latest/api/delete-safety-rule.html): updates are
// no longer checked against it. An unknown ARN is an error, ARC's ResourceNotFoundException.
func (c *Cluster) DeleteSafetyRule(arn string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.rules, func(r *safetyRule) bool { return r.arn == arn })
	if i < 0 {
		return fmt.Errorf("arctwin: no safety rule %s", arn)
	}
	c.rules = slices.Delete(c.rules, i, i+1)
	return nil
}
