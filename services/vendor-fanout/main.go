// Command vendor-fanout turns consent changes and privacy requests into vendor actions and
// delivers them — each vendor through its own lane, breaker, rate limit and retry schedule
// — publishing a receipt for every outcome.
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
		version.Print(os.Stdout, "vendor-fanout")
		return
	}
	start := run
	if bootstrap.MigrateOnlyRequested(os.Args[1:]) {
		start = migrateOnly
	}
	if err := start(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "vendor-fanout:", err)
		os.Exit(1)
	}
}
