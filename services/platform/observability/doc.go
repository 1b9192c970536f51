// Package observability holds no code: its test checks the operator-facing observability
// files against the services. The Grafana dashboard (deploy/observability/grafana) and
// the PrometheusRule alerts (deploy/observability/prometheus) name metrics by string, so
// a metric renamed in Go would leave a dashboard panel empty and an alert silent without
// any build failing; and an alert's runbook_url must lead to a page in docs/runbooks.
package observability
