module github.com/consentry/consentry/platform

go 1.26.0

require github.com/consentry/consentry/schemas v0.0.0

replace github.com/consentry/consentry/schemas => ../../schemas
