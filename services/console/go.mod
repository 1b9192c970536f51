module github.com/consentry/consentry/services/console

go 1.26.0

require (
	github.com/consentry/consentry/devkit v0.0.0
	github.com/consentry/consentry/platform v0.0.0
	github.com/coreos/go-oidc/v3 v3.21.0
	golang.org/x/oauth2 v0.38.0
)

require github.com/go-jose/go-jose/v4 v4.1.4 // indirect

replace (
	github.com/consentry/consentry/devkit => ../../devkit
	github.com/consentry/consentry/platform => ../platform
	github.com/consentry/consentry/schemas => ../../schemas
)
