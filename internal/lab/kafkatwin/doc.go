// Package kafkatwin provides the lab's stand-ins for the Kafka half of the DR architecture: one
// Kafka cluster per Region (the MSK twins), the two MSK Replicators that copy the topic both ways,
// and the OpenSearch Ingestion (OSI) pipelines that drain each Region's topic into its collection.
//
// Why twins that speak the real Kafka protocol rather than in-memory fakes: the runbook engine's
// activities read consumer lag with kadm, produce and consume with franz-go, and decide failback
// from replicator MessageLag reaching 0. Those decisions are only worth rehearsing if the data
// path underneath behaves like Kafka — committed offsets, consumer-group membership, high
// watermarks, partitions — so every twin here talks to franz-go's kfake brokers over TCP.
//
// What each twin reproduces, and why:
//
//   - [Cluster] wraps a kfake cluster and adds [Cluster.SetReachable], which closes the brokers'
//     listening sockets and drops open connections: clients see the Region's Kafka vanish the way
//     they do when a security group is revoked (the sample's "Option B" failure), only faster —
//     connection refused instead of a timeout — so drills run in seconds.
//   - [Link] carries a replicator's connections to its source, so the lab can partition the
//     Regions — replicators lose each other — while each cluster stays reachable at home.
//   - [Replicator] copies records with IDENTICAL topic names and prevents loops with a header
//     naming the cluster a record was first produced to, because the blog's active-active layout
//     relies on exactly that filtering. It translates committed consumer-group offsets onto the
//     target only while the target group is idle, as MSK Replicator does, so a failover that
//     starts consumers in the other Region resumes near where they stopped. Its state machine and
//     metrics (MessageLag, ReplicationLatency, ReplicatorThroughput) are the ones the engine polls.
//   - [Pipeline] consumes with a real consumer group (so kadm lag and offset sync see it), writes
//     through the opensearch-go bulk API as OSI does, commits only after the bulk response (the
//     sample's acknowledgments: true), and writes failures to a DLQ in Data Prepper's S3 format.
//     Its status machine mirrors OSI's StartPipeline/StopPipeline semantics.
//
// Delivery is at-least-once throughout: restarts may duplicate records, never lose them.
package kafkatwin
