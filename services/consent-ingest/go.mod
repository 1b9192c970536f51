module github.com/consentry/consentry/services/consent-ingest

go 1.26.0

require (
	github.com/consentry/consentry/platform v0.0.0
	github.com/consentry/consentry/schemas v0.0.0
)

replace (
	github.com/consentry/consentry/platform => ../platform
	github.com/consentry/consentry/schemas => ../../schemas
)
