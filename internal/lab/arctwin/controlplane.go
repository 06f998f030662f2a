package arctwin

import (
	"net/http"
	"net/url"
	"strings"
)

// ControlPlaneSigningService is the SigV4 service name of the recovery-control-config API.
const ControlPlaneSigningService = "route53-recovery-control-config"

// controlHandler serves the part of the recovery-control-config API (restJson1) a client needs
// to find the cluster's endpoints: DescribeCluster, GET /cluster/{ClusterArn}
// (route53recoverycontrolconfig v1.33.1 serializers.go), answering
// {"Cluster": {ClusterArn, ClusterEndpoints: [{Endpoint, Region}], Name, NetworkType, Owner,
// Status}} (the same module's deserializers.go). It answers only in ControlPlaneRegion: ARC's
// control plane is hosted in US West (Oregon) (the SDK's default endpoint is
// route53-recovery-control-config.us-west-2.amazonaws.com; ARC developer guide, "Regions"),
// which is why a runbook must not need it during a failover and keeps the endpoints from its
// environment file.
func (c *Cluster) controlHandler(ep *endpoint) http.Handler {
	return c.wrap(ep, "application/json", func(r *http.Request, body []byte) (any, *apiError) {
		if aerr := c.authenticate(ep.region, ControlPlaneSigningService, r, body); aerr != nil {
			return nil, aerr
		}
		raw := r.URL.EscapedPath()
		arnEsc, ok := strings.CutPrefix(raw, "/cluster/")
		if r.Method != http.MethodGet || !ok {
			return nil, &apiError{status: http.StatusNotFound, code: "UnknownOperationException", message: "Unknown operation " + r.Method + " " + raw}
		}
		arn, err := url.PathUnescape(arnEsc)
		if err != nil || arn != c.arn {
			return nil, &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException", message: "Cluster " + arn + " not found"}
		}
		type clusterEndpoint struct{ Endpoint, Region string }
		eps := []clusterEndpoint{}
		for _, region := range c.opts.Regions {
			eps = append(eps, clusterEndpoint{Endpoint: "http://" + c.endpoints[region].addr, Region: region})
		}
		return map[string]any{"Cluster": map[string]any{
			"ClusterArn": c.arn, "ClusterEndpoints": eps, "Name": c.opts.Name,
			"NetworkType": "IPV4", "Owner": c.account, "Status": "DEPLOYED",
		}}, nil
	})
}
