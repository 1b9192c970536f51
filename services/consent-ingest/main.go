// Command consent-ingest is Consentry's front door: it validates consent changes and
// privacy requests, seals personal identifiers, and answers 202 only once Kafka holds the
// event with acks=all.
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
		version.Print(os.Stdout, "consent-ingest")
		return
	}
	start := run
	if bootstrap.MigrateOnlyRequested(os.Args[1:]) {
		start = migrateOnly
	}
	if err := start(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "consent-ingest:", err)
		os.Exit(1)
	}
}
