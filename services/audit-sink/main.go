// Command audit-sink writes every event of every canonical topic into the append-only
// audit log, once, and answers every question about what happened: a subject's history,
// their current consent with the event that set it, a privacy request's progress against
// its legal deadline, and the export that answers an access or portability request.
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
		version.Print(os.Stdout, "audit-sink")
		return
	}
	start := run
	if bootstrap.MigrateOnlyRequested(os.Args[1:]) {
		start = migrateOnly
	}
	if err := start(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "audit-sink:", err)
		os.Exit(1)
	}
}
