package awsmodel

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/stretchr/testify/require"
)

// testModel is a small service that uses every feature the checker knows, written once and
// read in each protocol (a real service has one or a few; the checker only asks that the
// protocol be declared).
const testModel = `{
  "smithy": "2.0",
  "shapes": {
    "example#Svc": {"type": "service", "version": "2020-01-01",
      "operations": [{"target": "example#Get"}, {"target": "example#Ping"}, {"target": "example#Fetch"}],
      "traits": {"aws.protocols#restJson1": {}, "aws.protocols#awsJson1_0": {}, "smithy.protocols#rpcv2Cbor": {},
                 "aws.protocols#restXml": {}, "aws.protocols#awsQuery": {},
                 "smithy.api#xmlNamespace": {"uri": "https://example.com/doc/2020-01-01/"}}},
    "example#Get": {"type": "operation", "output": {"target": "example#GetOutput"}},
    "example#Ping": {"type": "operation", "output": {"target": "smithy.api#Unit"}},
    "example#Fetch": {"type": "operation", "output": {"target": "example#FetchOutput"}},
    "example#GetOutput": {"type": "structure", "members": {
      "Name": {"target": "smithy.api#String", "traits": {"smithy.api#required": {}, "smithy.api#jsonName": "name"}},
      "State": {"target": "example#State", "traits": {"smithy.api#jsonName": "state"}},
      "Kind": {"target": "example#Kind"},
      "Level": {"target": "example#Level"},
      "Count": {"target": "smithy.api#Integer"},
      "Small": {"target": "smithy.api#Byte"},
      "Ratio": {"target": "smithy.api#Double"},
      "On": {"target": "smithy.api#Boolean"},
      "Data": {"target": "smithy.api#Blob"},
      "Created": {"target": "smithy.api#Timestamp"},
      "Updated": {"target": "example#IsoTime"},
      "Tags": {"target": "example#TagList", "traits": {"smithy.api#xmlName": "TagSet"}},
      "Items": {"target": "example#ItemList", "traits": {"smithy.api#xmlFlattened": {}, "smithy.api#xmlName": "Item"}},
      "Attrs": {"target": "example#AttrMap"},
      "Choice": {"target": "example#Choice"},
      "Sparse": {"target": "example#SparseList"},
      "Id": {"target": "smithy.api#String", "traits": {"smithy.api#xmlAttribute": {}}},
      "RequestCharged": {"target": "example#State", "traits": {"smithy.api#httpHeader": "x-amz-state"}},
      "Doc": {"target": "smithy.api#Document"}
    }},
    "example#FetchOutput": {"type": "structure", "members": {
      "Body": {"target": "example#Item", "traits": {"smithy.api#httpPayload": {}}},
      "ETag": {"target": "smithy.api#String", "traits": {"smithy.api#httpHeader": "ETag", "smithy.api#required": {}}}
    }},
    "example#State": {"type": "enum", "members": {
      "ON": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": "on"}},
      "OFF": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": "off"}}}},
    "example#Kind": {"type": "string", "traits": {"smithy.api#enum": [{"value": "A"}, {"value": "B"}]}},
    "example#Level": {"type": "intEnum", "members": {
      "LOW": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": 1}},
      "HIGH": {"target": "smithy.api#Unit", "traits": {"smithy.api#enumValue": 9}}}},
    "example#IsoTime": {"type": "timestamp", "traits": {"smithy.api#timestampFormat": "date-time"}},
    "example#TagList": {"type": "list", "member": {"target": "example#Tag", "traits": {"smithy.api#xmlName": "Tag"}}},
    "example#Tag": {"type": "structure", "members": {
      "Key": {"target": "smithy.api#String", "traits": {"smithy.api#required": {}}},
      "Value": {"target": "smithy.api#String"}}},
    "example#ItemList": {"type": "list", "member": {"target": "example#Item"}},
    "example#Item": {"type": "structure", "members": {"N": {"target": "smithy.api#Long"}}},
    "example#AttrMap": {"type": "map", "key": {"target": "example#State"}, "value": {"target": "smithy.api#String"}},
    "example#Choice": {"type": "union", "members": {
      "S": {"target": "smithy.api#String"}, "I": {"target": "smithy.api#Integer"}}},
    "example#SparseList": {"type": "list", "member": {"target": "smithy.api#String"}, "traits": {"smithy.api#sparse": {}}}
  }
}`

func testModelFor(t *testing.T) *Model {
	t.Helper()
	m, err := Parse([]byte(testModel))
	require.NoError(t, err)
	return m
}

// problems checks body and returns the problem lines (nil when it passes).
func problems(t *testing.T, m *Model, op string, p Protocol, header http.Header, body []byte) []string {
	t.Helper()
	err := m.CheckOutput(op, p, Response{Header: header, Body: body})
	if err == nil {
		return nil
	}
	lines := strings.Split(err.Error(), "\n")[1:]
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return lines
}

const goodJSON = `{"name": "n", "state": "on", "Kind": "A", "Level": 9, "Count": 3, "Small": -128, "Ratio": 0.5,
  "On": true, "Data": "aGk=", "Created": 1700000000.5, "Updated": "2026-01-02T03:04:05.678Z",
  "Tags": [{"Key": "k", "Value": "v"}], "Items": [{"N": 1}], "Attrs": {"off": "x"}, "Choice": {"S": "s"},
  "Sparse": ["a", null], "Doc": {"anything": [1, "two"]}}`

func TestRestJSON(t *testing.T) {
	m := testModelFor(t)
	require.Empty(t, problems(t, m, "Get", RestJSON1, http.Header{"X-Amz-State": {"off"}}, []byte(goodJSON)))

	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"invented member", `"name": "n",`, `"name": "n", "nmae": "typo",`, `member "nmae" is not in the model`},
		{"member name instead of jsonName", `"state": "on"`, `"State": "on"`, `member "State" is not in the model`},
		{"required missing", `"name": "n",`, ``, `required member "name" is missing`},
		{"null member", `"name": "n",`, `"name": "n", "Id": null,`, `Get.Id: is null`},
		{"illegal enum value", `"state": "on"`, `"state": "ON"`, `Get.state: "ON" is not a value of the enum (off, on)`},
		{"illegal @enum value", `"Kind": "A"`, `"Kind": "C"`, `"C" is not a value of the enum (A, B)`},
		{"illegal intEnum value", `"Level": 9`, `"Level": 5`, `5 is not a value of the intEnum`},
		{"string for integer", `"Count": 3`, `"Count": "3"`, `Get.Count: is a string, the model says integer`},
		{"fraction for integer", `"Count": 3`, `"Count": 3.5`, `the model says integer (a whole number)`},
		{"byte out of range", `"Small": -128`, `"Small": 128`, `128 is out of the range of byte`},
		{"number for boolean", `"On": true`, `"On": 1`, `Get.On: is a number, the model says boolean`},
		{"blob not base64", `"Data": "aGk="`, `"Data": "not base64!"`, `Get.Data: is not base64`},
		{"date-time for epoch seconds", `"Created": 1700000000.5`, `"Created": "2023-11-14T22:13:20Z"`, `the model says a timestamp in epoch seconds`},
		{"epoch seconds for date-time", `"Updated": "2026-01-02T03:04:05.678Z"`, `"Updated": 1767323045`, `the model says a date-time timestamp`},
		{"bad date-time", `"Updated": "2026-01-02T03:04:05.678Z"`, `"Updated": "2026-01-02 03:04"`, `is not a date-time timestamp`},
		{"object for list", `"Tags": [{"Key": "k", "Value": "v"}]`, `"Tags": {"Key": "k"}`, `Get.Tags: is an object, the model says list`},
		{"invented member in a list item", `{"Key": "k", "Value": "v"}`, `{"Key": "k", "Value": "v", "Color": "red"}`, `Get.Tags[0]: member "Color" is not in the model`},
		{"required missing in a list item", `{"Key": "k", "Value": "v"}`, `{"Value": "v"}`, `Get.Tags[0]: required member "Key" is missing`},
		{"null in a dense list", `"Items": [{"N": 1}]`, `"Items": [{"N": 1}, null]`, `Get.Items[1]: is null in a list that is not sparse`},
		{"illegal map key", `"Attrs": {"off": "x"}`, `"Attrs": {"dim": "x"}`, `"dim" is not a value of the enum`},
		{"union with two members", `"Choice": {"S": "s"}`, `"Choice": {"S": "s", "I": 1}`, `a union has exactly one member set, this has 2`},
		{"member bound to a header in the body", `"name": "n",`, `"name": "n", "RequestCharged": "on",`, `member "RequestCharged" is not in the model`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, goodJSON, tc.from)
			got := problems(t, m, "Get", RestJSON1, nil, []byte(strings.Replace(goodJSON, tc.from, tc.to, 1)))
			require.Len(t, got, 1, "%v", got)
			require.Contains(t, got[0], tc.want)
		})
	}

	t.Run("illegal enum in a header", func(t *testing.T) {
		got := problems(t, m, "Get", RestJSON1, http.Header{"X-Amz-State": {"dim"}}, []byte(goodJSON))
		require.Equal(t, []string{`Get header x-amz-state: "dim" is not a value of the enum (off, on)`}, got)
	})
	t.Run("payload structure and required header", func(t *testing.T) {
		require.Empty(t, problems(t, m, "Fetch", RestJSON1, http.Header{"Etag": {`"abc"`}}, []byte(`{"N": 2}`)))
		got := problems(t, m, "Fetch", RestJSON1, nil, []byte(`{"N": 2, "M": 1}`))
		require.ElementsMatch(t, []string{`Fetch header ETag: required member "ETag" (a header) is missing`,
			`Fetch: member "M" is not in the model (it defines N)`}, got)
	})
	t.Run("unit output", func(t *testing.T) {
		require.Empty(t, problems(t, m, "Ping", RestJSON1, nil, nil))
		require.Empty(t, problems(t, m, "Ping", RestJSON1, nil, []byte(`{}`)))
		require.NotEmpty(t, problems(t, m, "Ping", RestJSON1, nil, []byte(`{"ok": true}`)))
	})
	t.Run("not JSON", func(t *testing.T) {
		require.NotEmpty(t, problems(t, m, "Get", RestJSON1, nil, []byte(`<xml/>`)))
	})
}

func TestAWSJSONUsesMemberNames(t *testing.T) {
	m := testModelFor(t)
	body := strings.NewReplacer(`"name"`, `"Name"`, `"state"`, `"State"`).Replace(goodJSON)
	require.Empty(t, problems(t, m, "Get", AWSJSON10, nil, []byte(body)))
	// jsonName belongs to restJson1 only.
	got := problems(t, m, "Get", AWSJSON10, nil, []byte(goodJSON))
	require.Contains(t, strings.Join(got, "\n"), `member "name" is not in the model`)
	require.Contains(t, strings.Join(got, "\n"), `required member "Name" is missing`)
}

func TestUndeclaredProtocolIsRefused(t *testing.T) {
	m := testModelFor(t)
	require.ErrorContains(t, m.CheckOutput("Get", AWSJSON11, Response{Body: []byte(`{}`)}), "does not speak aws.protocols#awsJson1_1")
	require.ErrorContains(t, m.CheckOutput("Nope", RestJSON1, Response{Body: []byte(`{}`)}), "has no operation Nope")
}

func TestRPCv2CBOR(t *testing.T) {
	m := testModelFor(t)
	good := func() cbor.Map {
		return cbor.Map{
			"Name": cbor.String("n"), "State": cbor.String("off"), "Level": cbor.Uint(1), "Count": cbor.NegInt(4),
			"Ratio": cbor.Float64(2), "Data": cbor.Slice("hi"), "Created": &cbor.Tag{ID: 1, Value: cbor.Float64(1.7e9)},
			"Updated": &cbor.Tag{ID: 1, Value: cbor.Uint(1_700_000_000)},
			"Items":   cbor.List{cbor.Map{"N": cbor.Uint(3)}}, "Attrs": cbor.Map{"on": cbor.String("y")},
		}
	}
	require.Empty(t, problems(t, m, "Get", RPCv2CBOR, nil, cbor.Encode(good())))
	require.Empty(t, problems(t, m, "Ping", RPCv2CBOR, nil, nil))

	for _, tc := range []struct {
		name string
		edit func(cbor.Map)
		want string
	}{
		{"invented member", func(v cbor.Map) { v["Colour"] = cbor.String("red") }, `member "Colour" is not in the model`},
		{"illegal enum value", func(v cbor.Map) { v["State"] = cbor.String("dim") }, `Get.State: "dim" is not a value of the enum`},
		{"timestamp without tag 1", func(v cbor.Map) { v["Created"] = cbor.Float64(1.7e9) }, `an rpcv2Cbor timestamp is tag 1 over epoch seconds`},
		{"date-time string for a timestamp", func(v cbor.Map) { v["Updated"] = cbor.String("2026-01-02T03:04:05Z") }, `an rpcv2Cbor timestamp is tag 1`},
		{"text string for a blob", func(v cbor.Map) { v["Data"] = cbor.String("aGk=") }, `a CBOR blob is a byte string`},
		{"float for an integer", func(v cbor.Map) { v["Count"] = cbor.Float64(4) }, `Get.Count: is a number, the model says integer`},
		{"null member", func(v cbor.Map) { v["Count"] = &cbor.Nil{} }, `Get.Count: is null`},
		{"illegal map key", func(v cbor.Map) { v["Attrs"] = cbor.Map{"dim": cbor.String("y")} }, `"dim" is not a value of the enum`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := good()
			tc.edit(v)
			got := problems(t, m, "Get", RPCv2CBOR, nil, cbor.Encode(v))
			require.Len(t, got, 1, "%v", got)
			require.Contains(t, got[0], tc.want)
		})
	}
}

const goodXML = `<?xml version="1.0" encoding="UTF-8"?>
<GetOutput xmlns="https://example.com/doc/2020-01-01/" Id="x1"><Name>n</Name><State>on</State><Kind>B</Kind><Level>1</Level>` +
	`<Count>7</Count><Ratio>NaN</Ratio><On>false</On><Data>aGk=</Data><Created>2026-01-02T03:04:05Z</Created>` +
	`<TagSet><Tag><Key>k</Key></Tag><Tag><Key>l</Key><Value>w</Value></Tag></TagSet>` +
	`<Item><N>1</N></Item><Item><N>2</N></Item>` +
	`<Attrs><entry><key>on</key><value>a</value></entry></Attrs><Choice><I>3</I></Choice></GetOutput>`

func TestRestXML(t *testing.T) {
	m := testModelFor(t)
	require.Empty(t, problems(t, m, "Get", RestXML, nil, []byte(goodXML)))

	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"invented element", `<Count>7</Count>`, `<Count>7</Count><Cuont>7</Cuont>`, `element <Cuont> is not in the model`},
		{"member name instead of xmlName", `<TagSet><Tag><Key>k</Key></Tag><Tag><Key>l</Key><Value>w</Value></Tag></TagSet>`,
			`<Tags><Tag><Key>k</Key></Tag></Tags>`, `element <Tags> is not in the model`},
		{"required missing", `<Name>n</Name>`, ``, `required member "Name" is missing`},
		{"illegal enum value", `<State>on</State>`, `<State>ON</State>`, `Get.State: "ON" is not a value of the enum`},
		{"illegal @enum value", `<Kind>B</Kind>`, `<Kind>Z</Kind>`, `"Z" is not a value of the enum (A, B)`},
		{"not a number", `<Count>7</Count>`, `<Count>seven</Count>`, `Get.Count: is seven, the model says integer`},
		{"not a boolean", `<On>false</On>`, `<On>no</On>`, `Get.On: "no" is not a boolean`},
		{"epoch seconds for an XML timestamp", `<Created>2026-01-02T03:04:05Z</Created>`, `<Created>1767323045</Created>`, `is not a date-time timestamp`},
		{"wrong list item name", `<Tag><Key>k</Key></Tag>`, `<member><Key>k</Key></member>`, `list item is <member>, the model says <Tag>`},
		{"wrapped flattened list", `<Item><N>1</N></Item><Item><N>2</N></Item>`, `<Items><member><N>1</N></member></Items>`, `element <Items> is not in the model`},
		{"repeated element", `<Count>7</Count>`, `<Count>7</Count><Count>8</Count>`, `Get.Count: element repeats`},
		{"map entry with a bad key", `<key>on</key>`, `<key>dim</key>`, `"dim" is not a value of the enum`},
		{"invented attribute", `Id="x1"`, `Id="x1" Colour="red"`, `attribute "Colour" is not in the model`},
		{"union with two members", `<Choice><I>3</I></Choice>`, `<Choice><I>3</I><S>s</S></Choice>`, `a union has exactly one member set, this has 2`},
		{"wrong root", `<GetOutput `, `<GetResult `, `root element is <GetResult>, the model says <GetOutput>`},
		{"wrong namespace", `https://example.com/doc/2020-01-01/`, `https://example.com/doc/2019-01-01/`, `is in namespace "https://example.com/doc/2019-01-01/"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(goodXML, tc.from, tc.to, 1)
			if tc.name == "wrong root" {
				body = strings.Replace(body, "</GetOutput>", "</GetResult>", 1)
			}
			require.NotEqual(t, goodXML, body)
			got := problems(t, m, "Get", RestXML, nil, []byte(body))
			require.Len(t, got, 1, "%v", got)
			require.Contains(t, got[0], tc.want)
		})
	}
}

func TestAWSQuery(t *testing.T) {
	m := testModelFor(t)
	inner := strings.TrimSuffix(strings.SplitN(goodXML, `Id="x1">`, 2)[1], "</GetOutput>")
	wrap := func(result string) []byte {
		return []byte(`<GetResponse xmlns="https://example.com/doc/2020-01-01/"><GetResult>` + result +
			`</GetResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetResponse>`)
	}
	require.Empty(t, problems(t, m, "Get", AWSQuery, nil, wrap(inner)))
	got := problems(t, m, "Get", AWSQuery, nil, wrap(inner+"<Extra>1</Extra>"))
	require.Len(t, got, 1)
	require.Contains(t, got[0], `element <Extra> is not in the model`)
	got = problems(t, m, "Get", AWSQuery, nil, []byte(strings.Replace(string(wrap(inner)), "GetResult", "GetOutput", 2)))
	require.Contains(t, strings.Join(got, "\n"), `element <GetOutput> is not part of an awsQuery response`)
	require.Empty(t, problems(t, m, "Ping", AWSQuery, nil, []byte(`<PingResponse xmlns="https://example.com/doc/2020-01-01/"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PingResponse>`)))
}

func TestOptionalDropsARequiredTrait(t *testing.T) {
	m := testModelFor(t)
	body := []byte(strings.Replace(goodJSON, `"name": "n",`, ``, 1))
	require.NotEmpty(t, problems(t, m, "Get", RestJSON1, nil, body))
	require.NoError(t, m.Optional("example#GetOutput", "Name"))
	require.Empty(t, problems(t, m, "Get", RestJSON1, nil, body))
	require.Error(t, m.Optional("example#GetOutput", "Name"), "no longer required")
	require.Error(t, m.Optional("example#GetOutput", "Nope"))
}

func TestTrim(t *testing.T) {
	full := []byte(strings.Replace(testModel, `"example#Get": {"type": "operation",`,
		`"example#Get": {"type": "operation", "input": {"target": "example#GetInput"}, "errors": [{"target": "example#Oops"}], "traits": {"smithy.api#documentation": "prose", "smithy.api#readonly": {}},`, 1))
	full = []byte(strings.Replace(string(full), `"example#State": {`,
		`"example#GetInput": {"type": "structure", "members": {}}, "example#Oops": {"type": "structure", "members": {}, "traits": {"smithy.api#error": "client"}}, "example#Unused": {"type": "string"}, "example#State": {`, 1))
	out, err := Trim(full, []string{"Get"})
	require.NoError(t, err)
	m, err := Parse(out)
	require.NoError(t, err)
	require.Equal(t, []string{"Get"}, m.Operations())
	for _, gone := range []string{"example#Ping", "example#Fetch", "example#FetchOutput", "example#GetInput", "example#Oops", "example#Unused", "smithy.api#documentation"} {
		require.NotContains(t, string(out), `"`+gone+`"`)
	}
	require.Contains(t, string(out), `"smithy.api#readonly"`)
	require.Empty(t, problems(t, m, "Get", RestJSON1, nil, []byte(goodJSON)), "the trimmed model checks as the whole one")
	again, err := Trim(out, []string{"Get"})
	require.NoError(t, err)
	require.Equal(t, string(out), string(again), "trimming is stable")

	_, err = Trim(full, []string{"Missing"})
	require.ErrorContains(t, err, "no operation example#Missing")
}

// TestRealModelsRefuseTamperedAnswers checks answers shaped as the lab gives them against the
// checked-in AWS models, each with one mistake a hand-written twin could make.
func TestRealModelsRefuseTamperedAnswers(t *testing.T) {
	load := func(file string) *Model {
		m, err := Load(filepath.Join("..", "testdata", "awsmodels", file))
		require.NoError(t, err)
		return m
	}
	kafka, r53, sqs, cw, s3 := load("kafka.json"), load("route53.json"), load("sqs.json"), load("cloudwatch.json"), load("s3.json")

	replicator := `{"currentVersion":"K1","replicatorArn":"arn:r","replicatorName":"r","replicatorState":"RUNNING",` +
		`"replicationInfoList":[{"sourceKafkaClusterAlias":"a","targetKafkaClusterAlias":"b","targetCompressionType":"NONE",` +
		`"topicReplication":{"topicsToReplicate":["t"],"topicNameConfiguration":{"type":"IDENTICAL"},"startingPosition":{"type":"LATEST"}},` +
		`"consumerGroupReplication":{"consumerGroupsToReplicate":[".*"],"consumerGroupOffsetSyncMode":"ENHANCED"}}]}`
	change := `<?xml version="1.0"?><GetChangeResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/C1</Id>` +
		`<Status>INSYNC</Status><SubmittedAt>2026-01-02T03:04:05.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>`
	messages := `{"Messages":[{"MessageId":"m","ReceiptHandle":"h","Body":"{}","Attributes":{"SentTimestamp":"1","ApproximateReceiveCount":"1"}}]}`
	list := `<?xml version="1.0"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>1</KeyCount>` +
		`<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>k</Key><LastModified>2026-01-02T03:04:05.000Z</LastModified>` +
		`<ETag>"e"</ETag><Size>2</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>`
	alarms := func(state string) []byte {
		return cbor.Encode(cbor.Map{"MetricAlarms": cbor.List{cbor.Map{"AlarmName": cbor.String("a"), "StateValue": cbor.String(state),
			"StateUpdatedTimestamp": &cbor.Tag{ID: 1, Value: cbor.Float64(1.7e9)}}}, "CompositeAlarms": cbor.List{}})
	}

	for _, tc := range []struct {
		name  string
		m     *Model
		op    string
		p     Protocol
		good  string
		from  string
		to    string
		want  string
		tweak func([]byte) []byte
	}{
		{name: "replicator state MSK does not have", m: kafka, op: "DescribeReplicator", p: RestJSON1, good: replicator,
			from: `"replicatorState":"RUNNING"`, to: `"replicatorState":"PAUSED"`, want: `DescribeReplicator.replicatorState: "PAUSED" is not a value of the enum`},
		{name: "offset sync mode spelt in lower case", m: kafka, op: "DescribeReplicator", p: RestJSON1, good: replicator,
			from: `"ENHANCED"`, to: `"enhanced"`, want: `consumerGroupOffsetSyncMode: "enhanced" is not a value of the enum (ENHANCED, LEGACY)`},
		{name: "PascalCase member where MSK says camelCase", m: kafka, op: "DescribeReplicator", p: RestJSON1, good: replicator,
			from: `"replicatorName"`, to: `"ReplicatorName"`, want: `member "ReplicatorName" is not in the model`},
		{name: "topic name configuration that does not exist", m: kafka, op: "DescribeReplicator", p: RestJSON1, good: replicator,
			from: `{"type":"IDENTICAL"}`, to: `{"type":"PREFIXED"}`, want: `"PREFIXED" is not a value of the enum (IDENTICAL, PREFIXED_WITH_SOURCE_CLUSTER_ALIAS)`},
		{name: "change status Route 53 does not have", m: r53, op: "GetChange", p: RestXML, good: change,
			from: `INSYNC`, to: `DONE`, want: `GetChange.ChangeInfo.Status: "DONE" is not a value of the enum (INSYNC, PENDING)`},
		{name: "change without SubmittedAt", m: r53, op: "GetChange", p: RestXML, good: change,
			from: `<SubmittedAt>2026-01-02T03:04:05.000Z</SubmittedAt>`, to: ``, want: `required member "SubmittedAt" is missing`},
		{name: "SQS system attribute that does not exist", m: sqs, op: "ReceiveMessage", p: AWSJSON10, good: messages,
			from: `"SentTimestamp"`, to: `"SentTime"`, want: `"SentTime" is not a value of the enum`},
		{name: "S3 storage class that does not exist", m: s3, op: "ListObjectsV2", p: RestXML, good: list,
			from: `STANDARD`, to: `HOT`, want: `"HOT" is not a value of the enum`},
		{name: "S3 size as a word", m: s3, op: "ListObjectsV2", p: RestXML, good: list,
			from: `<Size>2</Size>`, to: `<Size>two</Size>`, want: `the model says long`},
		{name: "CloudWatch alarm state that does not exist", m: cw, op: "DescribeAlarms", p: RPCv2CBOR,
			good: string(alarms("OK")), tweak: func([]byte) []byte { return alarms("FIRING") }, want: `"FIRING" is not a value of the enum (ALARM, INSUFFICIENT_DATA, OK)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Empty(t, problems(t, tc.m, tc.op, tc.p, nil, []byte(tc.good)), "the untampered answer passes")
			bad := []byte(strings.Replace(tc.good, tc.from, tc.to, 1))
			if tc.tweak != nil {
				bad = tc.tweak(bad)
			}
			require.NotEqual(t, tc.good, string(bad))
			got := problems(t, tc.m, tc.op, tc.p, nil, bad)
			require.Len(t, got, 1, "%v", got)
			require.Contains(t, got[0], tc.want)
		})
	}
}
