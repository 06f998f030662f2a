package controlplane

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	replicationpb "go.temporal.io/api/replication/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/switchyard-dr/switchyard/internal/temporalconn"
	"github.com/switchyard-dr/switchyard/workflows"
)

// Regions are Temporal clusters named for the lab's Regions, each on its own database, connected
// with Temporal's multi-cluster replication: one global namespace, active in one cluster at a
// time, its workflow histories replicated to the others. Workers and an intake run in every
// Region; a Region's workers and intake talk to their own Region's cluster.
type Regions struct {
	// Clusters are the Regions' topologies; the first was the namespace's active cluster at start.
	Clusters []*Topology
}

// Region returns the topology of the cluster named name, or nil.
func (r *Regions) Region(name string) *Topology {
	for _, t := range r.Clusters {
		if t.opts.Cluster.Name == name {
			return t
		}
	}
	return nil
}

// Stop stops every Region.
func (r *Regions) Stop() error {
	var errs []error
	for _, t := range r.Clusters {
		errs = append(errs, t.Stop())
	}
	return errors.Join(errs...)
}

// StartRegions starts one cluster per Options (each Cluster.Name a Region, each its own
// Database and a distinct Cluster.InitialFailoverVersion), connects every pair with the admin
// API (AddOrUpdateRemoteCluster, replication on), registers Namespace as a global namespace
// active in the first cluster and replicated to all, waits until it (with Switchyard's search
// attributes) reached every cluster, and then starts each Region's workers and intake.
func StartRegions(ctx context.Context, regions []Options) (_ *Regions, err error) {
	if len(regions) < 2 {
		return nil, errors.New("controlplane: StartRegions needs two Regions or more")
	}
	var names []string
	versions := map[int]string{}
	for _, o := range regions {
		o = o.withDefaults()
		if slices.Contains(names, o.Cluster.Name) {
			return nil, fmt.Errorf("controlplane: Region %q is listed twice", o.Cluster.Name)
		}
		if other, ok := versions[o.Cluster.InitialFailoverVersion]; ok {
			return nil, fmt.Errorf("controlplane: Regions %q and %q have the same initial failover version %d", other, o.Cluster.Name, o.Cluster.InitialFailoverVersion)
		}
		names = append(names, o.Cluster.Name)
		versions[o.Cluster.InitialFailoverVersion] = o.Cluster.Name
	}
	r := &Regions{}
	defer func() {
		if err != nil {
			_ = r.Stop()
		}
	}()
	for _, o := range regions {
		o.Cluster.Global = true
		o.skipNamespace, o.deferSwitchyard = true, true
		// A Region's workers refuse a namespace that is not global (temporalconn).
		o.Env = maps.Clone(o.Env)
		if o.Env == nil {
			o.Env = map[string]string{}
		}
		o.Env[temporalconn.RequireGlobalNamespaceEnv] = "true"
		t, err := Start(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("Region %s: %w", o.Cluster.Name, err)
		}
		r.Clusters = append(r.Clusters, t)
	}
	for _, a := range r.Clusters {
		for _, b := range r.Clusters {
			if a == b {
				continue
			}
			if err := connect(ctx, a, b); err != nil {
				return nil, err
			}
		}
	}
	active := r.Clusters[0]
	for _, t := range r.Clusters[1:] {
		active.opts.Cluster.Peers = append(active.opts.Cluster.Peers, ClusterInfo{Name: t.opts.Cluster.Name, RPCAddress: t.frontend})
	}
	if err := active.setupNamespace(ctx); err != nil {
		return nil, fmt.Errorf("Region %s: %w", active.opts.Cluster.Name, err)
	}
	for _, t := range r.Clusters[1:] {
		if err := t.awaitReplicatedNamespace(ctx); err != nil {
			return nil, err
		}
	}
	for _, t := range r.Clusters {
		if err := t.startSwitchyard(ctx); err != nil {
			return nil, fmt.Errorf("Region %s: %w", t.opts.Cluster.Name, err)
		}
		if err := t.writeState(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// connect tells cluster a about cluster b (temporal operator cluster upsert --enable-connection
// --enable-replication): a's frontend fetches b's metadata and checks it is compatible.
func connect(ctx context.Context, a, b *Topology) error {
	return retry(ctx, fmt.Sprintf("connect cluster %s to cluster %s at %s", a.opts.Cluster.Name, b.opts.Cluster.Name, b.frontend), func(ctx context.Context) error {
		_, err := a.client.OperatorService().AddOrUpdateRemoteCluster(ctx, &operatorservice.AddOrUpdateRemoteClusterRequest{
			FrontendAddress: b.frontend, EnableRemoteClusterConnection: true, EnableReplication: true})
		return err
	})
}

// awaitReplicatedNamespace waits until the namespace, with Switchyard's search attributes, has
// been replicated to this cluster.
func (t *Topology) awaitReplicatedNamespace(ctx context.Context) error {
	ns := t.opts.Namespace
	return retry(ctx, fmt.Sprintf("wait for namespace %s to reach cluster %s", ns, t.opts.Cluster.Name), func(ctx context.Context) error {
		d, err := t.client.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		if err != nil {
			return err
		}
		if !d.GetIsGlobalNamespace() {
			return permanent{fmt.Errorf("namespace %s exists in cluster %s as a local namespace", ns, t.opts.Cluster.Name)}
		}
		sa, err := t.client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		if err != nil {
			return err
		}
		for _, name := range workflows.SearchAttributeNames() {
			if _, ok := sa.GetCustomAttributes()[name]; !ok {
				return fmt.Errorf("search attribute %s not replicated yet", name)
			}
		}
		return nil
	})
}

// Kill ends every process of the Region with SIGKILL (Temporal's services, workers, intake) and
// its UI: the Region's control plane is gone, as in a Region outage.
func (t *Topology) Kill() error {
	var errs []error
	for _, p := range t.procs {
		if p.Running() {
			errs = append(errs, p.Kill())
		}
	}
	if t.ui != nil {
		errs = append(errs, t.ui.stop())
		t.ui = nil
	}
	return errors.Join(errs...)
}

// Failover makes cluster to the active cluster of namespace ns (temporal operator namespace
// update --active-cluster), through ws, the frontend of a cluster that is up: during a Region's
// outage, the surviving Region's own. The namespace must be global and to must be one of its
// clusters and connected to the cluster answering; otherwise nothing changes and the error names
// the namespace and the cluster. Failing over to the cluster already active is a no-op.
//
// Calls that fail for a moment (Unavailable, a deadline: a frontend that just lost its peer
// Region; a cluster the services have not loaded yet, staleClusterMetadata) are tried again for
// up to 90 seconds, longer than the server's default cluster-metadata refresh (a minute); every
// other error ends it at once.
func Failover(ctx context.Context, ws workflowservice.WorkflowServiceClient, op operatorservice.OperatorServiceClient, ns, to string) (from string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var d *workflowservice.DescribeNamespaceResponse
	err = whileTransient(ctx, func(ctx context.Context) (err error) {
		d, err = ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("fail namespace %s over to %s: describe the namespace: %w", ns, to, err)
	}
	if !d.GetIsGlobalNamespace() {
		return "", fmt.Errorf("fail namespace %s over to %s: namespace %s is not a global namespace, so no other cluster has its runs (register it with --global across connected clusters)", ns, to, ns)
	}
	from = d.GetReplicationConfig().GetActiveClusterName()
	var clusters []string
	for _, c := range d.GetReplicationConfig().GetClusters() {
		clusters = append(clusters, c.GetClusterName())
	}
	if !slices.Contains(clusters, to) {
		return from, fmt.Errorf("fail namespace %s over to %s: cluster %s is not a cluster of namespace %s (its clusters: %s)", ns, to, to, ns, strings.Join(clusters, ", "))
	}
	var lc *operatorservice.ListClustersResponse
	err = whileTransient(ctx, func(ctx context.Context) (err error) {
		lc, err = op.ListClusters(ctx, &operatorservice.ListClustersRequest{})
		return err
	})
	if err != nil {
		return from, fmt.Errorf("fail namespace %s over to %s: list the connected clusters: %w", ns, to, err)
	}
	connected := false
	for _, c := range lc.GetClusters() {
		if c.GetClusterName() == to && c.GetIsConnectionEnabled() {
			connected = true
		}
	}
	if !connected {
		return from, fmt.Errorf("fail namespace %s over to %s: cluster %s is not connected to the cluster answering (temporal operator cluster upsert first)", ns, to, to)
	}
	if from == to {
		return from, nil
	}
	err = whileTransient(ctx, func(ctx context.Context) error {
		_, err := ws.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: ns,
			ReplicationConfig: &replicationpb.NamespaceReplicationConfig{ActiveClusterName: to}})
		return err
	})
	if err != nil {
		return from, fmt.Errorf("fail namespace %s over from %s to %s: %w", ns, from, to, err)
	}
	return from, nil
}

// staleClusterMetadata is the frontend refusing a cluster it has not loaded yet: ListClusters
// reads the connections from the database, but the services keep cluster metadata in memory and
// refresh it periodically, so right after a connection (or a peer's restart) UpdateNamespace can
// answer "Invalid cluster name" for a cluster Failover has just seen connected. It passes once
// the refresh comes; a cluster that is really not connected was refused before this call.
func staleClusterMetadata(err error) bool {
	var invalid *serviceerror.InvalidArgument
	return errors.As(err, &invalid) && strings.Contains(invalid.Error(), "Invalid cluster name")
}

// whileTransient calls fn until it succeeds, fails with an error that is not transient, or ctx
// ends; each attempt gets 10 seconds.
func whileTransient(ctx context.Context, fn func(ctx context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := fn(actx)
		cancel()
		var unavailable *serviceerror.Unavailable
		var deadline *serviceerror.DeadlineExceeded
		transient := errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) ||
			status.Code(err) == codes.Unavailable || status.Code(err) == codes.DeadlineExceeded ||
			staleClusterMetadata(err)
		if err == nil || !transient || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}
