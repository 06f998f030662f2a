package awstwin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
)

// OpenSearch Serverless speaks awsJson1_0 (X-Amz-Target OpenSearchServerless.<Op>) with
// camelCase members; its dates are epoch milliseconds modelled as longs, not timestamps.

func aossService() *service {
	s := &service{
		name:         ServiceAOSS,
		namespace:    "com.amazonaws.opensearchserverless",
		target:       "OpenSearchServerless",
		defaultProto: protoJSON10,
		ops: map[string]func(*call) error{
			"BatchGetCollection": aossBatchGetCollection,
			"ListCollections":    aossListCollections,
			// Account capacity limits: aoss_account.go.
			"GetAccountSettings":    aossGetAccountSettings,
			"UpdateAccountSettings": aossUpdateAccountSettings,
		},
		throttle: apiError{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalServerException", Receiver: true},
	}
	s.resolve = func(c *call) *apiError { return resolveRPC(c, protoJSON10) }
	return s
}

func aossValidation(msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "ValidationException", Message: msg}
}

func aossDetail(c Collection) map[string]any {
	m := map[string]any{
		"id": c.ID, "name": c.Name, "arn": c.ARN, "status": c.Status, "type": c.Type,
		"description":        omitEmpty(c.Description),
		"collectionEndpoint": omitEmpty(c.CollectionEndpoint),
		"dashboardEndpoint":  omitEmpty(c.DashboardEndpoint),
		"standbyReplicas":    omitEmpty(c.StandbyReplicas),
		"kmsKeyArn":          omitEmpty(c.KMSKeyARN),
	}
	if !c.CreatedDate.IsZero() {
		m["createdDate"] = c.CreatedDate.UnixMilli()
	}
	if !c.LastModifiedDate.IsZero() {
		m["lastModifiedDate"] = c.LastModifiedDate.UnixMilli()
	}
	return dropNil(m)
}

func aossBatchGetCollection(c *call) error {
	var in struct {
		IDs   []string `json:"ids"`
		Names []string `json:"names"`
	}
	if err := json.Unmarshal(nonEmptyJSON(c.body), &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()}
	}
	if (len(in.IDs) == 0) == (len(in.Names) == 0) {
		return aossValidation("Specify either ids or names, but not both.")
	}
	if len(in.IDs)+len(in.Names) > 100 {
		return aossValidation("A maximum of 100 collections can be requested at once.")
	}
	all, err := c.backends().AOSS.Collections(c.ctx)
	if err != nil {
		return fmt.Errorf("list collections in %s: %w", c.rs.name, err)
	}
	details := []map[string]any{}
	errs := []map[string]string{}
	find := func(match func(Collection) bool) (Collection, bool) {
		for _, col := range all {
			if match(col) {
				return col, true
			}
		}
		return Collection{}, false
	}
	for _, id := range in.IDs {
		if col, ok := find(func(x Collection) bool { return x.ID == id }); ok {
			details = append(details, aossDetail(col))
		} else {
			errs = append(errs, map[string]string{"id": id, "errorCode": "NOT_FOUND", "errorMessage": "The specified collection could not be found."})
		}
	}
	for _, name := range in.Names {
		if col, ok := find(func(x Collection) bool { return x.Name == name }); ok {
			details = append(details, aossDetail(col))
		} else {
			errs = append(errs, map[string]string{"name": name, "errorCode": "NOT_FOUND", "errorMessage": "The specified collection could not be found."})
		}
	}
	return c.replyJSON(map[string]any{"collectionDetails": details, "collectionErrorDetails": errs})
}

func aossListCollections(c *call) error {
	var in struct {
		CollectionFilters *struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"collectionFilters"`
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := json.Unmarshal(nonEmptyJSON(c.body), &in); err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "SerializationException", Message: err.Error()}
	}
	all, err := c.backends().AOSS.Collections(c.ctx)
	if err != nil {
		return fmt.Errorf("list collections in %s: %w", c.rs.name, err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	var match []Collection
	for _, col := range all {
		if f := in.CollectionFilters; f != nil && ((f.Name != "" && f.Name != col.Name) || (f.Status != "" && f.Status != col.Status)) {
			continue
		}
		match = append(match, col)
	}
	max := in.MaxResults
	if max == 0 {
		max = 20
	}
	if max < 1 || max > 100 {
		return aossValidation("maxResults must be between 1 and 100.")
	}
	page, next, perr := paginateN(match, in.NextToken, max)
	if perr != nil {
		return aossValidation(perr.Error())
	}
	out := make([]map[string]any, 0, len(page))
	for _, col := range page {
		out = append(out, dropNil(map[string]any{"id": col.ID, "name": col.Name, "arn": col.ARN, "status": col.Status, "kmsKeyArn": omitEmpty(col.KMSKeyARN)}))
	}
	return c.replyJSON(dropNil(map[string]any{"collectionSummaries": out, "nextToken": omitEmpty(next)}))
}

func nonEmptyJSON(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}
