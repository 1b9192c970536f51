module github.com/consentry/consentry/services/console

go 1.26.0

require github.com/consentry/consentry/platform v0.0.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	golang.org/x/oauth2 v0.38.0 // indirect
)

replace (
	github.com/consentry/consentry/devkit => ../../devkit
	github.com/consentry/consentry/platform => ../platform
	github.com/consentry/consentry/schemas => ../../schemas
)
