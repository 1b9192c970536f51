// Package charttest renders the Helm chart in deploy/helm/consentry with Helm's own Go
// library (no helm binary needed) and decodes every object strictly into its Kubernetes
// type, so that a misspelt field fails `make test` instead of an install. It is a module
// of its own so that Helm's and Kubernetes' dependencies stay out of the services.
package charttest
