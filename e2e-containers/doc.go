// Package containers runs Consentry's end-to-end scenarios (devstack/scenarios) against
// real infrastructure in containers — Redpanda with its schema registry, and PostgreSQL —
// with the four service binaries as local processes pointed at them. It is the embedded
// suite's twin: the same scenarios, the same assertions, on a real Kafka-compatible broker
// and registry instead of kfake and srfake. Without a Docker engine it skips, saying why.
//
// It is a module of its own so that testcontainers and the Docker client stay out of
// every other module's dependencies.
package containers
