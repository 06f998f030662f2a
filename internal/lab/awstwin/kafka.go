package awstwin

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Amazon MSK speaks restJson1 with camelCase member names (the model's jsonName traits) and
// ISO 8601 date-time timestamps; operations are routed by method and path.

func kafkaService() *service {
	return &service{
		name:         ServiceKafka,
		namespace:    "com.amazonaws.kafka",
		defaultProto: protoRestJSON,
		resolve:      resolveKafka,
		ops: map[string]func(*call) error{
			"ListClustersV2":        kafkaListClustersV2,
			"DescribeClusterV2":     kafkaDescribeClusterV2,
			"ListReplicators":       kafkaListReplicators,
			"DescribeReplicator":    kafkaDescribeReplicator,
			"UpdateReplicationInfo": kafkaUpdateReplicationInfo,
		},
		throttle: apiError{Status: http.StatusTooManyRequests, Code: "TooManyRequestsException", Message: "Too Many Requests"},
		internal: apiError{Status: http.StatusInternalServerError, Code: "InternalServerErrorException", Receiver: true},
	}
}

func resolveKafka(c *call) *apiError {
	seg := segments(c.r)
	m := c.r.Method
	switch {
	case m == http.MethodGet && len(seg) == 3 && seg[0] == "api" && seg[1] == "v2" && seg[2] == "clusters":
		c.op = "ListClustersV2"
	case m == http.MethodGet && len(seg) == 4 && seg[0] == "api" && seg[1] == "v2" && seg[2] == "clusters":
		c.op, c.labels = "DescribeClusterV2", seg[3:]
	case m == http.MethodGet && len(seg) == 3 && seg[0] == "replication" && seg[2] == "replicators":
		c.op = "ListReplicators"
	case m == http.MethodGet && len(seg) == 4 && seg[0] == "replication" && seg[2] == "replicators":
		c.op, c.labels = "DescribeReplicator", seg[3:]
	case m == http.MethodPut && len(seg) == 5 && seg[0] == "replication" && seg[2] == "replicators" && seg[4] == "replication-info":
		c.op, c.labels = "UpdateReplicationInfo", seg[3:4]
	default:
		return &apiError{Status: http.StatusNotFound, Code: "NotFoundException", Message: fmt.Sprintf("the lab twin does not implement kafka %s %s", m, c.r.URL.Path)}
	}
	return nil
}

type kafkaClusterJSON struct {
	ActiveOperationArn string             `json:"activeOperationArn,omitempty"`
	ClusterArn         string             `json:"clusterArn"`
	ClusterName        string             `json:"clusterName"`
	ClusterType        string             `json:"clusterType"`
	CreationTime       string             `json:"creationTime,omitempty"`
	CurrentVersion     string             `json:"currentVersion,omitempty"`
	State              string             `json:"state"`
	Tags               map[string]string  `json:"tags,omitempty"`
	Provisioned        *kafkaProvisioned  `json:"provisioned,omitempty"`
	Serverless         *map[string]string `json:"serverless,omitempty"`
}

// kafkaProvisioned is ClusterInfo.provisioned, whose brokerNodeGroupInfo (with clientSubnets
// and instanceType) and numberOfBrokerNodes MSK always sends: the API reference lists them as
// Required: True (https://docs.aws.amazon.com/MSK/2.0/APIReference/v2-clusters-clusterarn.html,
// the Provisioned and BrokerNodeGroupInfo schemas), and so does the API model
// (internal/lab/testdata/awsmodels/kafka.json).
type kafkaProvisioned struct {
	BrokerNodeGroupInfo       kafkaBrokerNodeGroup `json:"brokerNodeGroupInfo"`
	NumberOfBrokerNodes       int                  `json:"numberOfBrokerNodes"`
	CurrentBrokerSoftwareInfo *map[string]string   `json:"currentBrokerSoftwareInfo,omitempty"`
}

type kafkaBrokerNodeGroup struct {
	BrokerAZDistribution string   `json:"brokerAZDistribution"`
	ClientSubnets        []string `json:"clientSubnets"`
	InstanceType         string   `json:"instanceType"`
	SecurityGroups       []string `json:"securityGroups,omitempty"`
}

func kafkaCluster(cl Cluster) kafkaClusterJSON {
	out := kafkaClusterJSON{
		ClusterArn: cl.ARN, ClusterName: cl.Name, ClusterType: cl.Type, State: cl.State,
		CurrentVersion: cl.CurrentVersion, Tags: cl.Tags, CreationTime: isoOrEmpty(cl.CreationTime),
	}
	if out.ClusterType == "" {
		out.ClusterType = "PROVISIONED"
	}
	if out.ClusterType == "SERVERLESS" {
		out.Serverless = &map[string]string{}
	} else {
		out.Provisioned = &kafkaProvisioned{NumberOfBrokerNodes: cl.BrokerNodes, BrokerNodeGroupInfo: kafkaBrokerNodeGroup{
			BrokerAZDistribution: "DEFAULT", ClientSubnets: nonNil(cl.ClientSubnets), SecurityGroups: cl.SecurityGroups,
			InstanceType: cmp.Or(cl.InstanceType, "kafka.m5.large")}}
		if cl.KafkaVersion != "" {
			out.Provisioned.CurrentBrokerSoftwareInfo = &map[string]string{"kafkaVersion": cl.KafkaVersion}
		}
	}
	return out
}

func isoOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatISO(t)
}

func kafkaListClustersV2(c *call) error {
	all, err := c.backends().MSK.Clusters(c.ctx)
	if err != nil {
		return fmt.Errorf("list MSK clusters in %s: %w", c.rs.name, err)
	}
	q := c.r.URL.Query()
	var match []kafkaClusterJSON
	for _, cl := range all {
		j := kafkaCluster(cl)
		if f := q.Get("clusterNameFilter"); f != "" && !strings.HasPrefix(cl.Name, f) {
			continue
		}
		if f := q.Get("clusterTypeFilter"); f != "" && j.ClusterType != f {
			continue
		}
		match = append(match, j)
	}
	items, next, perr := paginate(match, q.Get("nextToken"), q.Get("maxResults"), 100, 100)
	if perr != nil {
		return kafkaBadRequest(perr.Error(), "maxResults")
	}
	return c.replyJSON(dropNil(map[string]any{"clusterInfoList": nonNil(items), "nextToken": omitEmpty(next)}))
}

func kafkaDescribeClusterV2(c *call) error {
	all, err := c.backends().MSK.Clusters(c.ctx)
	if err != nil {
		return fmt.Errorf("list MSK clusters in %s: %w", c.rs.name, err)
	}
	for _, cl := range all {
		if cl.ARN == c.labels[0] {
			return c.replyJSON(map[string]any{"clusterInfo": kafkaCluster(cl)})
		}
	}
	return &apiError{Status: http.StatusNotFound, Code: "NotFoundException", Fields: map[string]string{"invalidParameter": "clusterArn"},
		Message: fmt.Sprintf("The requested resource %s was not found.", c.labels[0])}
}

type kafkaMSKRef struct {
	MskClusterArn string `json:"mskClusterArn"`
}

type kafkaClusterSummaryJSON struct {
	AmazonMskCluster  kafkaMSKRef `json:"amazonMskCluster"`
	KafkaClusterAlias string      `json:"kafkaClusterAlias"`
}

type kafkaFlowSummaryJSON struct {
	SourceKafkaClusterAlias string `json:"sourceKafkaClusterAlias"`
	TargetKafkaClusterAlias string `json:"targetKafkaClusterAlias"`
}

func kafkaListReplicators(c *call) error {
	all, err := c.backends().MSK.Replicators(c.ctx)
	if err != nil {
		return fmt.Errorf("list MSK replicators in %s: %w", c.rs.name, err)
	}
	q := c.r.URL.Query()
	var match []map[string]any
	for _, r := range all {
		if f := q.Get("replicatorNameFilter"); f != "" && !strings.HasPrefix(r.Name, f) {
			continue
		}
		clusters := make([]kafkaClusterSummaryJSON, 0, len(r.KafkaClusters))
		for _, kc := range r.KafkaClusters {
			clusters = append(clusters, kafkaClusterSummaryJSON{AmazonMskCluster: kafkaMSKRef{kc.MSKClusterARN}, KafkaClusterAlias: kc.Alias})
		}
		flows := make([]kafkaFlowSummaryJSON, 0, len(r.ReplicationInfo))
		for _, ri := range r.ReplicationInfo {
			flows = append(flows, kafkaFlowSummaryJSON{ri.SourceAlias, ri.TargetAlias})
		}
		match = append(match, dropNil(map[string]any{
			"creationTime":               omitEmpty(isoOrEmpty(r.CreationTime)),
			"currentVersion":             r.CurrentVersion,
			"isReplicatorReference":      false,
			"kafkaClustersSummary":       clusters,
			"replicationInfoSummaryList": flows,
			"replicatorArn":              r.ARN,
			"replicatorName":             r.Name,
			"replicatorResourceArn":      r.ARN,
			"replicatorState":            r.State,
		}))
	}
	items, next, perr := paginate(match, q.Get("nextToken"), q.Get("maxResults"), 100, 100)
	if perr != nil {
		return kafkaBadRequest(perr.Error(), "maxResults")
	}
	return c.replyJSON(dropNil(map[string]any{"replicators": nonNil(items), "nextToken": omitEmpty(next)}))
}

func kafkaDescribeReplicator(c *call) error {
	r, err := findReplicator(c, c.labels[0])
	if err != nil {
		return err
	}
	clusters := make([]map[string]any, 0, len(r.KafkaClusters))
	for _, kc := range r.KafkaClusters {
		clusters = append(clusters, map[string]any{
			"amazonMskCluster":  kafkaMSKRef{kc.MSKClusterARN},
			"kafkaClusterAlias": kc.Alias,
			"vpcConfig":         map[string][]string{"securityGroupIds": nonNil(kc.SecurityGroupIDs), "subnetIds": nonNil(kc.SubnetIDs)},
		})
	}
	flows := make([]map[string]any, 0, len(r.ReplicationInfo))
	for _, ri := range r.ReplicationInfo {
		tr := map[string]any{
			"copyAccessControlListsForTopics": ri.TopicReplication.CopyAccessControlListsForTopics,
			"copyTopicConfigurations":         ri.TopicReplication.CopyTopicConfigurations,
			"detectAndCopyNewTopics":          ri.TopicReplication.DetectAndCopyNewTopics,
			"topicsToExclude":                 nonNil(ri.TopicReplication.TopicsToExclude),
			"topicsToReplicate":               nonNil(ri.TopicReplication.TopicsToReplicate),
		}
		if v := ri.TopicReplication.StartingPosition; v != "" {
			tr["startingPosition"] = map[string]string{"type": v}
		}
		if v := ri.TopicReplication.TopicNameConfiguration; v != "" {
			tr["topicNameConfiguration"] = map[string]string{"type": v}
		}
		cg := map[string]any{
			"consumerGroupsToExclude":         nonNil(ri.ConsumerGroupReplication.ConsumerGroupsToExclude),
			"consumerGroupsToReplicate":       nonNil(ri.ConsumerGroupReplication.ConsumerGroupsToReplicate),
			"detectAndCopyNewConsumerGroups":  ri.ConsumerGroupReplication.DetectAndCopyNewConsumerGroups,
			"synchroniseConsumerGroupOffsets": ri.ConsumerGroupReplication.SynchroniseConsumerGroupOffsets,
		}
		if v := ri.ConsumerGroupReplication.ConsumerGroupOffsetSyncMode; v != "" {
			cg["consumerGroupOffsetSyncMode"] = v
		}
		flows = append(flows, dropNil(map[string]any{
			"sourceKafkaClusterAlias":  ri.SourceAlias,
			"targetKafkaClusterAlias":  ri.TargetAlias,
			"targetCompressionType":    omitEmpty(ri.TargetCompressionType),
			"topicReplication":         tr,
			"consumerGroupReplication": cg,
		}))
	}
	out := map[string]any{
		"creationTime":            omitEmpty(isoOrEmpty(r.CreationTime)),
		"currentVersion":          r.CurrentVersion,
		"isReplicatorReference":   false,
		"kafkaClusters":           clusters,
		"replicationInfoList":     flows,
		"replicatorArn":           r.ARN,
		"replicatorDescription":   omitEmpty(r.Description),
		"replicatorName":          r.Name,
		"replicatorResourceArn":   r.ARN,
		"replicatorState":         r.State,
		"serviceExecutionRoleArn": omitEmpty(r.ServiceExecutionRoleARN),
	}
	if r.Tags != nil {
		out["tags"] = r.Tags
	}
	if r.StateInfoCode != "" || r.StateInfoMessage != "" {
		out["stateInfo"] = map[string]string{"code": r.StateInfoCode, "message": r.StateInfoMessage}
	}
	return c.replyJSON(dropNil(out))
}

func findReplicator(c *call, arn string) (Replicator, error) {
	all, err := c.backends().MSK.Replicators(c.ctx)
	if err != nil {
		return Replicator{}, fmt.Errorf("list MSK replicators in %s: %w", c.rs.name, err)
	}
	for _, r := range all {
		if r.ARN == arn {
			return r, nil
		}
	}
	return Replicator{}, &apiError{Status: http.StatusNotFound, Code: "NotFoundException", Fields: map[string]string{"invalidParameter": "replicatorArn"},
		Message: fmt.Sprintf("The requested resource %s was not found.", arn)}
}

type kafkaUpdateInput struct {
	CurrentVersion        string `json:"currentVersion"`
	SourceKafkaClusterArn string `json:"sourceKafkaClusterArn"`
	SourceKafkaClusterID  string `json:"sourceKafkaClusterId"`
	TargetKafkaClusterArn string `json:"targetKafkaClusterArn"`
	TargetKafkaClusterID  string `json:"targetKafkaClusterId"`
	TopicReplication      *struct {
		CopyAccessControlListsForTopics *bool    `json:"copyAccessControlListsForTopics"`
		CopyTopicConfigurations         *bool    `json:"copyTopicConfigurations"`
		DetectAndCopyNewTopics          *bool    `json:"detectAndCopyNewTopics"`
		TopicsToExclude                 []string `json:"topicsToExclude"`
		TopicsToReplicate               []string `json:"topicsToReplicate"`
	} `json:"topicReplication"`
	ConsumerGroupReplication *struct {
		ConsumerGroupsToExclude         []string `json:"consumerGroupsToExclude"`
		ConsumerGroupsToReplicate       []string `json:"consumerGroupsToReplicate"`
		DetectAndCopyNewConsumerGroups  *bool    `json:"detectAndCopyNewConsumerGroups"`
		SynchroniseConsumerGroupOffsets *bool    `json:"synchroniseConsumerGroupOffsets"`
	} `json:"consumerGroupReplication"`
}

func kafkaUpdateReplicationInfo(c *call) error {
	var in kafkaUpdateInput
	if err := json.Unmarshal(c.body, &in); err != nil {
		return kafkaBadRequest("The request body is not valid JSON: "+err.Error(), "body")
	}
	if in.CurrentVersion == "" {
		return kafkaBadRequest("currentVersion is a required parameter.", "currentVersion")
	}
	upd := ReplicationInfoUpdate{ReplicatorARN: c.labels[0], CurrentVersion: in.CurrentVersion,
		SourceKafkaClusterARN: in.SourceKafkaClusterArn, TargetKafkaClusterARN: in.TargetKafkaClusterArn}
	if t := in.TopicReplication; t != nil {
		if t.CopyAccessControlListsForTopics == nil || t.CopyTopicConfigurations == nil || t.DetectAndCopyNewTopics == nil || t.TopicsToExclude == nil || t.TopicsToReplicate == nil {
			return kafkaBadRequest("topicReplication requires copyAccessControlListsForTopics, copyTopicConfigurations, detectAndCopyNewTopics, topicsToExclude and topicsToReplicate.", "topicReplication")
		}
		upd.TopicReplication = &TopicReplicationUpdate{TopicsToReplicate: t.TopicsToReplicate, TopicsToExclude: t.TopicsToExclude,
			CopyAccessControlListsForTopics: *t.CopyAccessControlListsForTopics, CopyTopicConfigurations: *t.CopyTopicConfigurations,
			DetectAndCopyNewTopics: *t.DetectAndCopyNewTopics}
	}
	if g := in.ConsumerGroupReplication; g != nil {
		if g.DetectAndCopyNewConsumerGroups == nil || g.SynchroniseConsumerGroupOffsets == nil || g.ConsumerGroupsToExclude == nil || g.ConsumerGroupsToReplicate == nil {
			return kafkaBadRequest("consumerGroupReplication requires consumerGroupsToExclude, consumerGroupsToReplicate, detectAndCopyNewConsumerGroups and synchroniseConsumerGroupOffsets.", "consumerGroupReplication")
		}
		upd.ConsumerGroupReplication = &ConsumerGroupReplicationUpdate{ConsumerGroupsToReplicate: g.ConsumerGroupsToReplicate,
			ConsumerGroupsToExclude: g.ConsumerGroupsToExclude, DetectAndCopyNewConsumerGroups: *g.DetectAndCopyNewConsumerGroups,
			SynchroniseConsumerGroupOffsets: *g.SynchroniseConsumerGroupOffsets}
	}
	if in.SourceKafkaClusterID != "" || in.TargetKafkaClusterID != "" {
		// Cluster IDs are the UUID suffix of the cluster ARN; resolve them against the
		// replicator's own clusters.
		r, err := findReplicator(c, upd.ReplicatorARN)
		if err != nil {
			return err
		}
		for _, kc := range r.KafkaClusters {
			if in.SourceKafkaClusterID != "" && strings.HasSuffix(kc.MSKClusterARN, "/"+in.SourceKafkaClusterID) {
				upd.SourceKafkaClusterARN = kc.MSKClusterARN
			}
			if in.TargetKafkaClusterID != "" && strings.HasSuffix(kc.MSKClusterARN, "/"+in.TargetKafkaClusterID) {
				upd.TargetKafkaClusterARN = kc.MSKClusterARN
			}
		}
	}
	r, err := c.backends().MSK.UpdateReplicationInfo(c.ctx, upd)
	switch {
	case errors.Is(err, ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Code: "NotFoundException", Message: err.Error(), Fields: map[string]string{"invalidParameter": "replicatorArn"}}
	case errors.Is(err, ErrVersionMismatch):
		return kafkaBadRequest("The provided current version doesn't match the replicator's current version: "+err.Error(), "currentVersion")
	case errors.Is(err, ErrInvalidState), errors.Is(err, ErrInvalidInput):
		return kafkaBadRequest(err.Error(), "")
	case err != nil:
		return fmt.Errorf("update replication info of %s: %w", upd.ReplicatorARN, err)
	}
	return c.replyJSON(map[string]string{"replicatorArn": r.ARN, "replicatorState": r.State})
}

func kafkaBadRequest(msg, param string) *apiError {
	e := &apiError{Status: http.StatusBadRequest, Code: "BadRequestException", Message: msg}
	if param != "" {
		e.Fields = map[string]string{"invalidParameter": param}
	}
	return e
}

// ---- helpers shared by the JSON services ----

// paginate pages items with an opaque next token (the base64 offset). maxParam "" means def;
// values outside 1..limit are refused as AWS refuses them.
func paginate[T any](items []T, token, maxParam string, def, limit int) ([]T, string, error) {
	max := def
	if maxParam != "" {
		n, err := strconv.Atoi(maxParam)
		if err != nil || n < 1 || n > limit {
			return nil, "", fmt.Errorf("maxResults must be between 1 and %d, got %q", limit, maxParam)
		}
		max = n
	}
	return paginateN(items, token, max)
}

func paginateN[T any](items []T, token string, max int) ([]T, string, error) {
	start := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		n, convErr := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || convErr != nil || n < 0 || n > len(items) {
			return nil, "", fmt.Errorf("invalid pagination token %q", token)
		}
		start = n
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// omitEmpty returns nil for "", which dropNil then leaves out, as AWS omits unset members.
func omitEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func dropNil(m map[string]any) map[string]any {
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return m
}
