// Command unsubscribe-handler serves signed unsubscribe links, the RFC 8058 one-click
// receiver and the preference center, takes bounces and complaints from the email
// platform, and keeps the compacted suppression topic that marketing tools consume
// (docs/marketing-tools.md).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/consentry/consentry/platform/bootstrap"
	"github.com/consentry/consentry/platform/version"
)

func main() {
	if version.Requested(os.Args[1:]) {
		version.Print(os.Stdout, "unsubscribe-handler")
		return
	}
	start := run
	if bootstrap.MigrateOnlyRequested(os.Args[1:]) {
		start = migrateOnly
	}
	if err := start(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "unsubscribe-handler:", err)
		os.Exit(1)
	}
}
